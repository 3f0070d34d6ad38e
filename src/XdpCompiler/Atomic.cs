using System.Threading;

namespace XdpCompiler;

/// <summary>
/// The BPF atomic that <see cref="Interlocked"/> has no method for: exclusive or. Compiles to one
/// <c>lock … ^=</c> (or <c>atomic_fetch_xor</c> when the result is used) on a 4- or 8-byte map value or stack
/// location, like <c>Interlocked.And</c> and <c>Interlocked.Or</c>; in .NET
/// it is a compare-and-swap loop with the same result.
/// </summary>
public static unsafe class Atomic
{
    /// <summary>Atomically <c>location ^= value</c>; returns the value before, as Interlocked.And/Or do.</summary>
    public static int Xor(ref int location, int value)
    {
        var current = Volatile.Read(ref location);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref location, current ^ value, current);
            if (seen == current)
                return current;
            current = seen;
        }
    }

    /// <inheritdoc cref="Xor(ref int, int)"/>
    public static long Xor(ref long location, long value)
    {
        var current = Volatile.Read(ref location);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref location, current ^ value, current);
            if (seen == current)
                return current;
            current = seen;
        }
    }

    /// <inheritdoc cref="Xor(ref int, int)"/>
    public static uint Xor(ref uint location, uint value)
    {
        fixed (uint* p = &location)
            return (uint)Xor(ref *(int*)p, (int)value);
    }

    /// <inheritdoc cref="Xor(ref int, int)"/>
    public static ulong Xor(ref ulong location, ulong value)
    {
        fixed (ulong* p = &location)
            return (ulong)Xor(ref *(long*)p, (long)value);
    }
}

using System.Runtime.InteropServices;

namespace XdpCompiler;

/// <summary>
/// <c>BPF_MAP_TYPE_PERCPU_ARRAY</c>: a fixed array with one copy of each value per CPU, so counters need no atomics in
/// the kernel. In .NET it is one zero-filled array (one CPU), so a program's effect on it can be checked in a test.
/// </summary>
public sealed unsafe class PerCpuArray<T> where T : unmanaged
{
    private readonly T* _values;

    public PerCpuArray(uint maxEntries)
    {
        if (maxEntries == 0)
            throw new ArgumentOutOfRangeException(nameof(maxEntries), "A map needs at least one entry.");
        MaxEntries = maxEntries;
        // Never freed: maps live in static fields for the life of the process, like the kernel object they stand for.
        var bytes = checked((int)(maxEntries * (uint)sizeof(T)));
        _values = (T*)Marshal.AllocHGlobal(bytes);
        new Span<byte>(_values, bytes).Clear();
    }

    public uint MaxEntries { get; }

    /// <summary><c>bpf_map_lookup_elem</c>: this CPU's value at <paramref name="index"/>, or null when out of range.</summary>
    public T* Lookup(uint index) => index < MaxEntries ? _values + index : null;

    /// <summary>Sets every value back to zero (for tests; not available to programs).</summary>
    public void Clear() => new Span<T>(_values, (int)MaxEntries).Clear();
}

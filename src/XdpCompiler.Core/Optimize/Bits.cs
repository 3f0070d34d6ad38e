using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>The bit arithmetic the bit-level passes share: masks of a width, the ISA's immediates, carries.</summary>
internal static class Bits
{
    public const ulong Low32 = 0xFFFF_FFFF;

    /// <summary>The bits an operation of <paramref name="width"/> produces (a 32-bit one zeroes the upper half).</summary>
    public static ulong Of(Width width) => width == Width.W32 ? Low32 : ulong.MaxValue;

    /// <summary>The low <paramref name="bits"/> bits.</summary>
    public static ulong Low(int bits) => bits >= 64 ? ulong.MaxValue : (1UL << bits) - 1;

    /// <summary>The immediate as the ISA applies it: sign-extended to 64 bits, or the low 32 bits of a 32-bit operation.</summary>
    public static ulong Immediate(Width width, long immediate) => (ulong)(long)unchecked((int)immediate) & Of(width);

    /// <summary>Every bit at or below the highest set bit: what carries in a sum or product can reach.</summary>
    public static ulong FillDown(ulong bits)
    {
        bits |= bits >> 1;
        bits |= bits >> 2;
        bits |= bits >> 4;
        bits |= bits >> 8;
        bits |= bits >> 16;
        bits |= bits >> 32;
        return bits;
    }

    public static bool IsPowerOfTwo(ulong value) => value != 0 && (value & (value - 1)) == 0;

    /// <summary>The index of the highest set bit (0 for 0 and 1).</summary>
    public static int Log2(ulong value)
    {
        var log = 0;
        while ((value >>= 1) != 0)
            log++;
        return log;
    }
}

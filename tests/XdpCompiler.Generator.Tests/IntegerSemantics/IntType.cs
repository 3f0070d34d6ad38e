using System.Globalization;

namespace XdpCompiler.Generator.Tests.IntegerSemantics;

/// <summary>
/// One C# integer type as the semantics tests see it: its size, signedness, the type its arithmetic is done in, and how
/// to spell a constant of it. Values travel as raw bits (the low <see cref="Bits"/> bits of a ulong), because the tests
/// compare bits and the same edge patterns matter for signed and unsigned types alike.
/// </summary>
internal sealed record IntType(string Name, int Size, bool Signed)
{
    public static readonly IntType SByte = new("sbyte", 1, true);
    public static readonly IntType Byte = new("byte", 1, false);
    public static readonly IntType Short = new("short", 2, true);
    public static readonly IntType UShort = new("ushort", 2, false);
    public static readonly IntType Int = new("int", 4, true);
    public static readonly IntType UInt = new("uint", 4, false);
    public static readonly IntType Long = new("long", 8, true);
    public static readonly IntType ULong = new("ulong", 8, false);
    public static readonly IntType Char = new("char", 2, false);
    // The kernel is 64-bit and so is the .NET process the tests compare with.
    public static readonly IntType NInt = new("nint", 8, true);
    public static readonly IntType NUInt = new("nuint", 8, false);

    public static IReadOnlyList<IntType> All { get; } = [SByte, Byte, Short, UShort, Int, UInt, Long, ULong, Char, NInt, NUInt];

    public static IntType Named(string name) => All.SingleOrDefault(t => t.Name == name)
        ?? throw new ArgumentException($"'{name}' is not one of the C# integer types under test", nameof(name));

    public int Bits => Size * 8;

    public ulong Mask => Bits == 64 ? ulong.MaxValue : (1UL << Bits) - 1;

    /// <summary>The bits of MinValue for a signed type (the top bit alone); for an unsigned type, the top bit as well.</summary>
    public ulong TopBit => 1UL << (Bits - 1);

    /// <summary>The type of <c>x op y</c> for two operands of this type (C#'s binary numeric promotion).</summary>
    public IntType Promoted => Size < 4 ? Int : this;

    public ulong MinBits => Signed ? TopBit : 0;

    public ulong MaxBits => Signed ? TopBit - 1 : Mask;

    /// <summary>The value of these bits in this type, widened to a long (ulong bits above long.MaxValue wrap).</summary>
    public long ValueOf(ulong bits)
    {
        bits &= Mask;
        if (!Signed || Bits == 64)
            return unchecked((long)bits);
        var shift = 64 - Bits;
        return unchecked((long)(bits << shift)) >> shift;
    }

    /// <summary>The value as C# would print it, for messages.</summary>
    public string Describe(ulong bits)
    {
        bits &= Mask;
        var value = Signed ? ValueOf(bits).ToString(CultureInfo.InvariantCulture) : bits.ToString(CultureInfo.InvariantCulture);
        return $"{value} (0x{bits.ToString("X" + (Size * 2), CultureInfo.InvariantCulture)})";
    }

    /// <summary>
    /// A C# expression of exactly this type with these bits. nint and nuint constants outside the int range are not
    /// compile-time constants, so those are conversions the program evaluates (of an immediate).
    /// </summary>
    public string Literal(ulong bits)
    {
        bits &= Mask;
        if (!Signed)
            return $"(({Name})0x{bits.ToString("X", CultureInfo.InvariantCulture)}UL)";
        var value = ValueOf(bits);
        if (bits == MinBits)
            return Name == "nint" ? "((nint)long.MinValue)" : $"{Name}.MinValue";
        return $"(({Name})({value.ToString(CultureInfo.InvariantCulture)}L))";
    }

    /// <summary>
    /// Operand values that find integer bugs: zero and ±1, MinValue and MaxValue and their neighbours, the sign-bit
    /// and byte-boundary patterns, powers of two ±1 at every width the lowering cares about, alternating bits, and a
    /// few random ones.
    /// </summary>
    public IReadOnlyList<ulong> EdgeValues(Random random)
    {
        var values = new List<ulong>
        {
            0, 1, 2, 3, 5, 7, 10, 100, Mask, Mask - 1, Mask - 2, TopBit, TopBit + 1, TopBit - 1, TopBit - 2,
            0x5555_5555_5555_5555, 0xAAAA_AAAA_AAAA_AAAA, 0x0F0F_0F0F_0F0F_0F0F, 0xF0F0_F0F0_F0F0_F0F0,
        };
        foreach (var k in new[] { 4, 7, 8, 15, 16, 24, 31, 32, 33, 48, 62, 63 })
        {
            if (k >= Bits)
                continue;
            var power = 1UL << k;
            values.AddRange([power, power - 1, power + 1, Mask ^ power, Mask << k]);
        }

        for (var i = 0; i < 4; i++)
            values.Add(RandomBits(random));
        return values.Select(v => v & Mask).Distinct().ToList();
    }

    /// <summary>A smaller set of edge values for operand pairs (the cross product grows quadratically).</summary>
    public IReadOnlyList<ulong> CoreValues(Random random)
    {
        var values = new List<ulong>
        {
            0, 1, 2, 3, 7, Mask, Mask - 1, TopBit, TopBit + 1, TopBit - 1, TopBit - 2, 0x5555_5555_5555_5555, 0xAAAA_AAAA_AAAA_AAAA,
            0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000,
            RandomBits(random), RandomBits(random),
        };
        return values.Select(v => v & Mask).Distinct().ToList();
    }

    /// <summary>Constants for <c>x op K</c>: immediates the encoder must sign- or zero-extend the C# way.</summary>
    public IReadOnlyList<ulong> Constants()
    {
        var values = new List<ulong> { 0, 1, 2, 7, Mask, Mask - 1, TopBit, TopBit - 1, TopBit + 1, 0x80, 0xFF, 0x5555_5555_5555_5555 };
        if (Bits == 64)
            values.AddRange([0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000, 0xFFFF_FFFF_8000_0000, 0xFFFF_FFFF_7FFF_FFFF]);
        return values.Select(v => v & Mask).Distinct().ToList();
    }

    public ulong RandomBits(Random random) => ((ulong)random.NextInt64() ^ ((ulong)random.Next() << 40)) & Mask;

    public override string ToString() => Name;
}

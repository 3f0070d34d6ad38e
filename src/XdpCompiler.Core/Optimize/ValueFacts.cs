using System.Numerics;
using XdpCompiler.Core.Backend;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// A closed interval of the signed 64-bit value a register holds (the whole register, as a 64-bit operation or a
/// 64-bit compare sees it; a 32-bit result is zero-extended, so its interval lies in [0, 2^32)).
/// </summary>
internal readonly record struct Interval(BigInteger Lo, BigInteger Hi)
{
    public static readonly BigInteger Two32 = BigInteger.One << 32;

    public static Interval Full { get; } = new(long.MinValue, long.MaxValue);

    public static Interval Unsigned32 { get; } = new(0, uint.MaxValue);

    public static Interval Point(BigInteger value) => new(value, value);

    public bool Within(BigInteger lo, BigInteger hi) => Lo >= lo && Hi <= hi;

    public Interval Union(Interval other) => new(BigInteger.Min(Lo, other.Lo), BigInteger.Max(Hi, other.Hi));

    /// <summary>The interval, or the full 64-bit range when it leaves it (the operation could wrap).</summary>
    public Interval Clamp64() => Within(long.MinValue, long.MaxValue) ? this : Full;

    /// <summary>
    /// The zero-extended 32-bit result of an operation whose exact value lies in this interval: the low 32 bits of
    /// every value in one 2^32-aligned window are that value minus the window's start.
    /// </summary>
    public Interval Wrap32()
    {
        var window = Lo >= 0 ? Lo / Two32 : -((-Lo + Two32 - 1) / Two32);
        var start = window * Two32;
        return Hi < start + Two32 ? new Interval(Lo - start, Hi - start) : Unsigned32;
    }

    /// <summary>
    /// A contiguous range of numbers congruent mod 2^32 to the low halves of these values, as a 32-bit operation's
    /// operand: the values themselves when they already fit a 32-bit view, otherwise any 32 bits.
    /// </summary>
    public Interval View32() => Within(int.MinValue, uint.MaxValue) && (Lo >= 0 || Hi <= int.MaxValue) ? this : Unsigned32;

    /// <summary>The low 32 bits as an unsigned number, when that is a contiguous range.</summary>
    public Interval? Unsigned32View()
    {
        if (Within(0, uint.MaxValue))
            return this;
        return Within(-Two32, -1) ? new Interval(Lo + Two32, Hi + Two32) : null;
    }

    /// <summary>The low 32 bits as a signed number, when that is a contiguous range.</summary>
    public Interval? Signed32View()
    {
        if (Within(int.MinValue, int.MaxValue))
            return this;
        return Within(BigInteger.One << 31, uint.MaxValue) ? new Interval(Lo - Two32, Hi - Two32) : null;
    }

    /// <summary>The value as a compare of this width and signedness reads it, when that is a contiguous range.</summary>
    public Interval? ViewFor(Width width, bool signed)
    {
        if (width == Width.W32)
            return signed ? Signed32View() : Unsigned32View();
        if (signed)
            return this;
        if (Lo >= 0)
            return this;
        return Hi < 0 ? new Interval(Lo + (BigInteger.One << 64), Hi + (BigInteger.One << 64)) : null;
    }
}

/// <summary>
/// What the optimizer can tell about registers without running the program: where each is defined, how often it is
/// read, and the interval its value lies in. A register with several definitions (a local) lies in the union of what
/// they produce; a value that depends on itself (a loop) is not bounded.
/// </summary>
internal sealed class ValueFacts
{
    private readonly Dictionary<int, List<IrInstr>> _definitions = new();
    private readonly Dictionary<int, int> _uses = new();
    private readonly Dictionary<int, Interval> _ranges = new();
    private readonly HashSet<int> _inProgress = new();

    public ValueFacts(IrFunction function)
    {
        Function = function;
        foreach (var block in function.Blocks)
        {
            foreach (var instruction in block.Instructions)
            {
                foreach (var def in Liveness.Defs(instruction))
                {
                    if (!_definitions.TryGetValue(def, out var list))
                        _definitions[def] = list = new List<IrInstr>();
                    list.Add(instruction);
                }

                foreach (var use in Liveness.Uses(instruction))
                    _uses[use] = UseCount(use) + 1;
            }

            foreach (var use in Liveness.Uses(block.Terminator))
                _uses[use] = UseCount(use) + 1;
        }
    }

    public IrFunction Function { get; }

    public int UseCount(int register) => _uses.TryGetValue(register, out var n) ? n : 0;

    /// <summary>A virtual register written by exactly one instruction: its value is the same wherever it is read.</summary>
    public bool Single(int register) => !Ir.IsPhysical(register) && _definitions.TryGetValue(register, out var list) && list.Count == 1;

    public IrInstr? Definition(int register) => Single(register) ? _definitions[register][0] : null;

    /// <summary>The single definition of a register, looking through 64-bit copies of single-definition registers.</summary>
    public IrInstr? DefinitionThroughCopies(int register)
    {
        var definition = Definition(register);
        for (var guard = 0; guard < 8 && definition is MovInstr { Width: Width.W64 } copy; guard++)
            definition = Definition(copy.Src);
        return definition;
    }

    public Interval Range(int register)
    {
        if (Ir.IsPhysical(register) || !_definitions.TryGetValue(register, out var definitions))
            return Interval.Full;
        if (_ranges.TryGetValue(register, out var known))
            return known;
        if (!_inProgress.Add(register))
            return Interval.Full;
        Interval? union = null;
        foreach (var definition in definitions)
        {
            var range = Of(definition, register);
            union = union is { } u ? u.Union(range) : range;
        }

        _inProgress.Remove(register);
        var result = union ?? Interval.Full;
        _ranges[register] = result;
        return result;
    }

    /// <summary>The interval of an immediate operand as a 32-bit operation reads it (its low 32 bits, signed).</summary>
    public static Interval Immediate32(long immediate) => Interval.Point(unchecked((int)immediate));

    /// <summary>The interval of an immediate operand as a 64-bit operation reads it (sign-extended from 32 bits).</summary>
    public static Interval Immediate64(long immediate) => Interval.Point(unchecked((int)immediate));

    public Interval Operand(Operand operand, Width width) =>
        operand.IsImmediate ? Interval.Point(unchecked((int)operand.Immediate)) : width == Width.W32 ? Range(operand.Register).View32() : Range(operand.Register);

    private Interval Of(IrInstr instruction, int register)
    {
        switch (instruction)
        {
            case ConstInstr c:
                return Interval.Point(c.Value);
            case LoadInstr l when l.Size != MemSize.DW:
                return new Interval(0, (BigInteger.One << l.Size.Bits()) - 1);
            case MovInstr { Width: Width.W64 } m:
                return Range(m.Src);
            case MovInstr m:
                return Range(m.Src).View32().Wrap32();
            case ExtendInstr e:
                return Extend(e);
            case SwapInstr { Bits: < 64 } s:
                return new Interval(0, (BigInteger.One << s.Bits) - 1);
            case NegInstr n:
                return n.Width == Width.W64
                    ? new Interval(-Range(n.Src).Hi, -Range(n.Src).Lo).Clamp64()
                    : new Interval(-Range(n.Src).View32().Hi, -Range(n.Src).View32().Lo).Wrap32();
            case BinaryInstr b:
                return Binary(b);
            case AtomicInstr { FetchDst: { } } a when a.FetchDst == register && a.Size != MemSize.DW:
                return new Interval(0, (BigInteger.One << a.Size.Bits()) - 1);
            default:
                return Interval.Full;
        }
    }

    private Interval Extend(ExtendInstr e)
    {
        var source = Range(e.Src);
        var bits = e.FromBits;
        var signedRange = new Interval(-(BigInteger.One << (bits - 1)), (BigInteger.One << (bits - 1)) - 1);
        var unsignedRange = new Interval(0, (BigInteger.One << bits) - 1);
        Interval value;
        if (e.Signed)
            value = source.Within(signedRange.Lo, signedRange.Hi) ? source : signedRange;
        else
            value = source.Within(0, unsignedRange.Hi) ? source : unsignedRange;
        return e.To == Width.W64 ? value : value.Wrap32();
    }

    private Interval Binary(BinaryInstr b)
    {
        var wide = b.Width == Width.W64;
        var left = wide ? Range(b.Left) : Range(b.Left).View32();
        var right = Operand(b.Right, b.Width);
        Interval exact;
        switch (b.Op)
        {
            case BinaryOp.Add:
                exact = new Interval(left.Lo + right.Lo, left.Hi + right.Hi);
                break;
            case BinaryOp.Sub:
                exact = new Interval(left.Lo - right.Hi, left.Hi - right.Lo);
                break;
            case BinaryOp.Mul:
            {
                var corners = new[] { left.Lo * right.Lo, left.Lo * right.Hi, left.Hi * right.Lo, left.Hi * right.Hi };
                exact = new Interval(corners.Min(), corners.Max());
                break;
            }
            case BinaryOp.And when left.Lo >= 0 || right.Lo >= 0:
            {
                var hi = left.Lo >= 0 && right.Lo >= 0 ? BigInteger.Min(left.Hi, right.Hi) : left.Lo >= 0 ? left.Hi : right.Hi;
                exact = new Interval(0, hi);
                break;
            }
            case BinaryOp.Or or BinaryOp.Xor when left.Lo >= 0 && right.Lo >= 0:
                exact = new Interval(0, AllOnesCovering(BigInteger.Max(left.Hi, right.Hi)));
                break;
            case BinaryOp.ShrUnsigned when b.Right.IsImmediate:
            {
                var shift = (int)(b.Right.Immediate & (wide ? 63 : 31));
                var operand = wide ? left.ViewFor(Width.W64, signed: false) : left.Unsigned32View();
                exact = operand is { } u
                    ? new Interval(u.Lo >> shift, u.Hi >> shift)
                    : new Interval(0, ((BigInteger.One << (wide ? 64 : 32)) - 1) >> shift);
                break;
            }
            case BinaryOp.ShrSigned when b.Right.IsImmediate:
            {
                var shift = (int)(b.Right.Immediate & (wide ? 63 : 31));
                var operand = wide ? left : left.Signed32View() ?? new Interval(int.MinValue, int.MaxValue);
                exact = new Interval(operand.Lo >> shift, operand.Hi >> shift);
                break;
            }
            case BinaryOp.Shl when b.Right.IsImmediate:
            {
                var shift = (int)(b.Right.Immediate & (wide ? 63 : 31));
                exact = new Interval(left.Lo << shift, left.Hi << shift);
                break;
            }
            case BinaryOp.DivUnsigned or BinaryOp.ModUnsigned when left.Lo >= 0 && right.Lo > 0 && (wide || left.Hi <= uint.MaxValue):
                exact = b.Op == BinaryOp.DivUnsigned ? new Interval(left.Lo / right.Hi, left.Hi / right.Lo) : new Interval(0, BigInteger.Min(left.Hi, right.Hi - 1));
                break;
            default:
                return wide ? Interval.Full : Interval.Unsigned32;
        }

        return wide ? exact.Clamp64() : exact.Wrap32();
    }

    /// <summary>
    /// Bits of a register known to be 0 and known to be 1 wherever it is read (single-definition registers only;
    /// the interval adds the zeros above its bound).
    /// </summary>
    public (ulong Zeros, ulong Ones) Known(int register) => Known(register, 0);

    private (ulong Zeros, ulong Ones) Known(int register, int depth)
    {
        var range = Range(register);
        var zeros = range.Lo >= 0 && range.Hi <= ulong.MaxValue ? ~(ulong)AllOnesCovering(range.Hi) : 0;
        if (depth > 8 || Definition(register) is not { } definition)
            return (zeros, 0);
        var (z, o) = KnownOf(definition, depth + 1);
        return (z | zeros, o & ~zeros);
    }

    private (ulong Zeros, ulong Ones) KnownOf(IrInstr instruction, int depth)
    {
        const ulong low32 = Bits.Low32;
        (ulong, ulong) Narrow((ulong Zeros, ulong Ones) bits, Width width) =>
            width == Width.W32 ? (bits.Zeros | ~low32, bits.Ones & low32) : bits;
        switch (instruction)
        {
            case ConstInstr c:
                return (~(ulong)c.Value, (ulong)c.Value);
            case MovInstr m:
                return Narrow(Known(m.Src, depth), m.Width);
            case ExtendInstr { Signed: false } e:
            {
                var mask = Bits.Low(e.FromBits);
                var (z, o) = Known(e.Src, depth);
                return (z | ~mask, o & mask);
            }
            case SwapInstr s:
            {
                var (z, o) = Known(s.Src, depth);
                var mask = Bits.Low(s.Bits);
                return (Swap(z, s.Bits) | ~mask, Swap(o, s.Bits));
            }
            case BinaryInstr { Right.IsImmediate: true } b:
            {
                var (z, o) = Known(b.Left, depth);
                if (b.Width == Width.W32)
                    (z, o) = (z | ~low32, o & low32);
                var bits = b.Width == Width.W32 ? 32 : 64;
                var c = Bits.Immediate(b.Width, b.Right.Immediate);
                var shift = (int)(b.Right.Immediate & (bits - 1));
                var width = Bits.Of(b.Width);
                (ulong, ulong) result = b.Op switch
                {
                    BinaryOp.And => (z | ~c, o & c),
                    BinaryOp.Or => (z & ~c, o | c),
                    BinaryOp.Xor => ((z & ~c) | (o & c), (o & ~c) | (z & c)),
                    // Every bit of the constant lands on a known zero: no carry, the sum is an or.
                    BinaryOp.Add when (c & ~z) == 0 => (z & ~c, o | c),
                    BinaryOp.Shl => (((z << shift) | ((1UL << shift) - 1)) & width, (o << shift) & width),
                    BinaryOp.ShrUnsigned => (((z & width) >> shift) | ~(width >> shift), (o & width) >> shift),
                    _ => (0, 0),
                };
                return Narrow(result, b.Width);
            }
            case BinaryInstr b:
                return b.Width == Width.W32 ? (~low32, 0UL) : (0UL, 0UL);
            case NegInstr n:
                return n.Width == Width.W32 ? (~low32, 0UL) : (0UL, 0UL);
            default:
                return (0, 0);
        }
    }

    /// <summary>The low <paramref name="bits"/> bits with their bytes reversed, as the ISA's byte swap leaves them.</summary>
    public static ulong Swap(ulong value, int bits)
    {
        ulong result = 0;
        for (var i = 0; i < bits / 8; i++)
            result |= ((value >> (8 * i)) & 0xFF) << (bits - 8 - 8 * i);
        return result;
    }

    private static BigInteger AllOnesCovering(BigInteger value)
    {
        var result = BigInteger.One;
        while (result <= value)
            result <<= 1;
        return result - 1;
    }
}

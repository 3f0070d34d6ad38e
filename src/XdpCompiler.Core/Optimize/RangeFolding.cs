using System.Numerics;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// Rewrites that hold because of the interval a value is known to lie in (<see cref="ValueFacts"/>): an extension of
/// a value that already has the extended form is a copy ("(long)e" of a byte read from the packet); a sign extension
/// of a 32-bit sum, difference or product that cannot overflow is the same operation done in 64 bits
/// ("(long)(data[30] - 128)"); a compare of "x * c" with a constant compares x with the constant divided, when the
/// product cannot wrap ("tweak * -3 &gt; 200" is "tweak &lt; -66"), and "x + c == K" compares x with K - c; a compare the interval decides
/// becomes a jump.
/// </summary>
internal static class RangeFolding
{
    public static void Run(IrFunction function)
    {
        var facts = new ValueFacts(function);
        // Each register's definitions, by place: a sum's operand is read again at the compare.
        var definitions = new Dictionary<int, List<(IrBlock Block, int Index)>>();
        foreach (var block in function.Blocks)
        {
            for (var i = 0; i < block.Instructions.Count; i++)
            {
                foreach (var def in Backend.Liveness.Defs(block.Instructions[i]))
                {
                    if (!definitions.TryGetValue(def, out var list))
                        definitions[def] = list = new List<(IrBlock, int)>();
                    list.Add((block, i));
                }
            }
        }

        // x keeps its value from the sum (the one write of its result register) to any compare of it: x is defined
        // once, or only before the sum in its block (a way from the sum back to those definitions runs the sum again).
        // Rewrites here replace instructions in place, so the places stay right.
        bool Unchanged(int register, int result)
        {
            if (facts.Single(register))
                return true;
            if (Ir.IsPhysical(register) || !definitions.TryGetValue(register, out var defs) || !definitions.TryGetValue(result, out var sums))
                return false;
            var (block, index) = sums[0];
            return defs.All(d => d.Block == block && d.Index < index);
        }

        foreach (var block in function.Blocks)
        {
            for (var i = 0; i < block.Instructions.Count; i++)
            {
                if (block.Instructions[i] is ExtendInstr extend && Extension(extend, facts) is { } replacement)
                    block.Instructions[i] = replacement;
                else if (block.Instructions[i] is BinaryInstr { Op: BinaryOp.And, Right.IsImmediate: true } mask && KeepsEverything(mask, facts))
                    block.Instructions[i] = new MovInstr(mask.Dst, mask.Left, Width.W64) { Source = mask.Source };
            }

            if (block.Terminator is BranchTerm { Right.IsImmediate: true } branch)
            {
                if (Decide(branch, facts.Range(branch.Left)) is { } taken)
                    block.Terminator = new JumpTerm(taken ? branch.True : branch.False) { Source = branch.Source };
                else if (Product(branch, facts) is { } simpler)
                    block.Terminator = simpler;
                else if (Shifted(branch, facts) is { } unshifted)
                    block.Terminator = unshifted;
                else if (Offset(branch, facts, Unchanged) is { } direct)
                    block.Terminator = direct;
            }
        }

        function.RemoveUnreachableBlocks();
    }

    /// <summary>
    /// A mask of a narrow load that clears only bits the load leaves zero ("data[23] &amp; 0xff" of a byte) changes
    /// nothing. Only a load, because the kernel's verifier knows those zeros too: a bound proved some other way (after
    /// a byte swap, a division) could be one the verifier does not see, and the mask may be what keeps an offset in
    /// range for it.
    /// </summary>
    private static bool KeepsEverything(BinaryInstr mask, ValueFacts facts)
    {
        if (facts.DefinitionThroughCopies(mask.Left) is not LoadInstr { Size: not MemSize.DW } load)
            return false;
        var kept = Bits.Immediate(mask.Width, mask.Right.Immediate);
        return (Bits.Low(load.Size.Bits()) & ~kept) == 0;
    }

    private static IrInstr? Extension(ExtendInstr e, ValueFacts facts)
    {
        var source = facts.Range(e.Src);
        var half = BigInteger.One << (e.FromBits - 1);
        var keeps = e.Signed ? source.Within(e.To == Width.W64 ? -half : 0, half - 1) : source.Within(0, (half << 1) - 1);
        if (keeps && (e.To == Width.W64 || e.FromBits <= 32))
            return new MovInstr(e.Dst, e.Src, Width.W64) { Source = e.Source };

        // sext32to64(a op32 b) is a op64 b when a and b hold their own 32-bit values and the exact result fits 32 bits.
        if (e is { Signed: true, FromBits: 32, To: Width.W64 } && facts.Definition(e.Src) is BinaryInstr
            {
                Width: Width.W32, Op: BinaryOp.Add or BinaryOp.Sub or BinaryOp.Mul,
            } b)
        {
            // The operands are read again where the extension is: they must not have changed in between.
            if (!facts.Single(b.Left) || !b.Right.IsImmediate && !facts.Single(b.Right.Register))
                return null;
            var left = facts.Range(b.Left);
            var right = b.Right.IsImmediate ? Interval.Point(unchecked((int)b.Right.Immediate)) : facts.Range(b.Right.Register);
            if (!left.Within(int.MinValue, int.MaxValue) || !right.Within(int.MinValue, int.MaxValue))
                return null;
            var corners = b.Op switch
            {
                BinaryOp.Add => new[] { left.Lo + right.Lo, left.Hi + right.Hi },
                BinaryOp.Sub => new[] { left.Lo - right.Hi, left.Hi - right.Lo },
                _ => new[] { left.Lo * right.Lo, left.Lo * right.Hi, left.Hi * right.Lo, left.Hi * right.Hi },
            };
            if (corners.Min() >= int.MinValue && corners.Max() <= int.MaxValue)
                return b with { Width = Width.W64, Dst = e.Dst, Source = e.Source };
        }

        return null;
    }

    /// <summary>True or false when every value the interval allows decides the compare the same way; null otherwise.</summary>
    internal static bool? Decide(BranchTerm branch, Interval range)
    {
        if (branch.Condition is Condition.Set or Condition.Clear)
            return null;
        var signed = branch.Condition.IsSigned();
        if (range.ViewFor(branch.Width, signed) is not { } value)
            return null;
        var k = Constant(branch.Width, signed, branch.Right.Immediate);
        return branch.Condition switch
        {
            Condition.Eq => value.Lo == k && value.Hi == k ? true : k < value.Lo || k > value.Hi ? false : null,
            Condition.Ne => value.Lo == k && value.Hi == k ? false : k < value.Lo || k > value.Hi ? true : null,
            Condition.GtSigned or Condition.GtUnsigned => value.Lo > k ? true : value.Hi <= k ? false : null,
            Condition.GeSigned or Condition.GeUnsigned => value.Lo >= k ? true : value.Hi < k ? false : null,
            Condition.LtSigned or Condition.LtUnsigned => value.Hi < k ? true : value.Lo >= k ? false : null,
            _ => value.Hi <= k ? true : value.Lo > k ? false : null,
        };
    }

    /// <summary>The immediate of a compare as the ISA compares it: sign-extended from 32 bits, then read at the compare's width.</summary>
    internal static BigInteger Constant(Width width, bool signed, long immediate)
    {
        var value = unchecked((int)immediate);
        if (width == Width.W32)
            return signed ? value : (uint)value;
        return signed ? value : (ulong)(long)value;
    }

    /// <summary>"x * c cond k" as "x cond' k/c" when no product in x's interval wraps at the compare's width.</summary>
    private static BranchTerm? Product(BranchTerm branch, ValueFacts facts)
    {
        if (branch.Condition is Condition.Set or Condition.Clear || facts.UseCount(branch.Left) != 1 ||
            facts.Definition(branch.Left) is not BinaryInstr { Op: BinaryOp.Mul, Right.IsImmediate: true } mul || mul.Width != branch.Width ||
            !facts.Single(mul.Left))
        {
            return null;
        }

        var signed = branch.Condition.IsSigned();
        var c = (BigInteger)unchecked((int)mul.Right.Immediate);
        if (c.IsZero)
            return null;
        // x must read the same at the compare's width as in the product: its own value, inside that width's view.
        var x = facts.Range(mul.Left);
        var (min, max) = Bounds(branch.Width, signed);
        if (!x.Within(min, max) || !Within(x.Lo * c, min, max) || !Within(x.Hi * c, min, max))
            return null;
        var k = Constant(branch.Width, signed, branch.Right.Immediate);
        var condition = branch.Condition;
        if (c.Sign < 0)
        {
            if (!signed)
                return null;
            // x * c cond k  ⇔  x * |c| cond' -k, with the compare mirrored.
            c = -c;
            k = -k;
            condition = condition.Swap();
        }

        BigInteger Floor(BigInteger a) => BigInteger.Divide(a - (a.Sign < 0 ? c - 1 : 0), c);
        BigInteger Ceiling(BigInteger a) => BigInteger.Divide(a + (a.Sign > 0 ? c - 1 : 0), c);
        BigInteger bound;
        switch (condition)
        {
            case Condition.Eq or Condition.Ne:
                if (!BigInteger.Remainder(k, c).IsZero)
                    return null;
                bound = k / c;
                break;
            case Condition.GtSigned or Condition.GtUnsigned or Condition.LeSigned or Condition.LeUnsigned:
                bound = Floor(k); // x*c > k ⇔ x > floor(k/c); x*c <= k ⇔ x <= floor(k/c)
                break;
            default:
                bound = Ceiling(k); // x*c >= k ⇔ x >= ceil(k/c); x*c < k ⇔ x < ceil(k/c)
                break;
        }

        if (Immediate(branch.Width, signed, bound) is not { } immediate)
            return null;
        return branch with { Condition = condition, Left = mul.Left, Right = IR.Operand.Imm(immediate) };
    }

    /// <summary>
    /// "(x &gt;&gt; k) cond K" as "x cond' K'" when the shifted value is all of x's bits from k up at the compare's
    /// width: "(ushort)(umix &gt;&gt; 16) &gt; 0x8000" is "(uint)umix &gt; 0x8000FFFF", without the shift and the mask.
    /// </summary>
    /// <summary>
    /// "x + c == K" is "x == K - c" in wrapping arithmetic, whatever x is ("Interlocked.Increment(ref n) == 0" is
    /// "old == -1"): the sum, read only here, is not computed. A 32-bit compare sees the low halves, so it takes a
    /// sum of either width; a 64-bit one only a 64-bit sum.
    /// </summary>
    private static BranchTerm? Offset(BranchTerm branch, ValueFacts facts, Func<int, int, bool> unchanged)
    {
        if (branch.Condition is not (Condition.Eq or Condition.Ne) || facts.UseCount(branch.Left) != 1 ||
            facts.Definition(branch.Left) is not BinaryInstr { Op: BinaryOp.Add or BinaryOp.Sub, Right.IsImmediate: true } sum ||
            branch.Width == Width.W64 && sum.Width != Width.W64 || !unchanged(sum.Left, sum.Dst))
        {
            return null;
        }

        // Immediates are 32 bits, sign-extended where an operation is 64-bit.
        long addend = unchecked((int)sum.Right.Immediate), k = unchecked((int)branch.Right.Immediate);
        var target = unchecked(sum.Op == BinaryOp.Add ? k - addend : k + addend);
        if (branch.Width == Width.W32)
            return branch with { Left = sum.Left, Right = IR.Operand.Imm(unchecked((int)target)) };
        return target is >= int.MinValue and <= int.MaxValue ? branch with { Left = sum.Left, Right = IR.Operand.Imm(target) } : null;
    }

    private static BranchTerm? Shifted(BranchTerm branch, ValueFacts facts)
    {
        if (branch.Condition is Condition.Eq or Condition.Ne or Condition.Set or Condition.Clear || facts.UseCount(branch.Left) != 1)
            return null;
        var bits = branch.Width == Width.W32 ? 32 : 64;
        int source;
        int shift;
        switch (facts.Definition(branch.Left))
        {
            case BinaryInstr { Op: BinaryOp.ShrUnsigned, Right.IsImmediate: true } s when (s.Width == Width.W32 ? 32 : 64) == bits:
                (source, shift) = (s.Left, (int)(s.Right.Immediate & (bits - 1)));
                break;
            case ExtendInstr { Signed: false } e when facts.UseCount(e.Src) == 1 && facts.Definition(e.Src) is BinaryInstr
            {
                Op: BinaryOp.ShrUnsigned, Width: Width.W64, Right.IsImmediate: true,
            } s && (int)(s.Right.Immediate & 63) + e.FromBits == bits:
                (source, shift) = (s.Left, (int)(s.Right.Immediate & 63));
                break;
            default:
                return null;
        }

        if (shift == 0 || !facts.Single(source))
            return null;
        // The shifted value is never negative at this width, so a signed compare with a non-negative K reads as unsigned.
        var signed = branch.Condition.IsSigned();
        var k = Constant(branch.Width, signed, branch.Right.Immediate);
        var max = (BigInteger.One << (bits - shift)) - 1;
        if (k < 0 || k >= max)
            return null;
        var low = (BigInteger.One << shift) - 1;
        var (condition, bound) = branch.Condition switch
        {
            Condition.GtSigned or Condition.GtUnsigned => (Condition.GtUnsigned, (k << shift) | low),
            Condition.LeSigned or Condition.LeUnsigned => (Condition.LeUnsigned, (k << shift) | low),
            Condition.GeSigned or Condition.GeUnsigned => (Condition.GeUnsigned, k << shift),
            _ => (Condition.LtUnsigned, k << shift),
        };
        if (Immediate(branch.Width, signed: false, bound) is { } immediate)
            return branch with { Condition = condition, Left = source, Right = IR.Operand.Imm(immediate) };
        if (branch.Width == Width.W64 && bound >= (BigInteger.One << 64) - (BigInteger.One << 31))
            return branch with { Condition = condition, Left = source, Right = IR.Operand.Imm((long)(bound - (BigInteger.One << 64))) };
        return null;
    }

    private static (BigInteger Min, BigInteger Max) Bounds(Width width, bool signed) => (width, signed) switch
    {
        (Width.W32, true) => (int.MinValue, int.MaxValue),
        (Width.W32, false) => (0, uint.MaxValue),
        (_, true) => (long.MinValue, long.MaxValue),
        _ => (0, long.MaxValue),
    };

    private static bool Within(BigInteger value, BigInteger min, BigInteger max) => value >= min && value <= max;

    /// <summary>The 32-bit immediate that a compare of this width and signedness reads as <paramref name="value"/>, if any.</summary>
    private static long? Immediate(Width width, bool signed, BigInteger value)
    {
        if (value >= int.MinValue && value <= int.MaxValue)
        {
            // A negative immediate reads as a huge unsigned number: only signed compares may use one.
            return signed || value >= 0 ? (long)value : null;
        }

        if (width == Width.W32 && !signed && value >= 0 && value <= uint.MaxValue)
            return (long)(uint)value;
        return null;
    }
}

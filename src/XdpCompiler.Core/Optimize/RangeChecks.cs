using System.Numerics;
using XdpCompiler.Core.Backend;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// Two compares of one register with constants in a row, "if (port &gt;= 1000 &amp;&amp; port &lt; 2000)", reach their
/// inner target for one run of values [lo, hi]: that is one unsigned compare, "(port - 1000) &lt; 1000", as clang
/// makes it. Every compare against a constant takes a run of values that is contiguous on the ring of w-bit numbers
/// (signed or not), so the two runs meet in at most two pieces; only one piece is folded. The second compare's block
/// must be entered from the first alone and do nothing else, and the register must die there: then the subtraction
/// reuses it, and the two compares cost one subtraction and one jump instead of two jumps.
/// </summary>
internal static class RangeChecks
{
    public static void Run(IrFunction function)
    {
        while (RunOnce(function))
            function.RemoveUnreachableBlocks();
    }

    private static bool RunOnce(IrFunction function)
    {
        Dictionary<IrBlock, HashSet<int>>? liveOut = null;
        foreach (var (first, outer, second, inner, shared, inside) in BranchPair.In(function))
        {
            if (!outer.Right.IsImmediate || !inner.Right.IsImmediate || Ir.IsPhysical(outer.Left) || second.Instructions.Count != 0 ||
                inner.Left != outer.Left || inner.Width != outer.Width)
            {
                continue;
            }

            var bits = outer.Width == Width.W32 ? 32 : 64;
            if (Taken(outer, bits) is not { } toFirst || Taken(inner, bits) is not { } toInner)
                continue;
            var toSecond = second == outer.True ? toFirst : Complement(toFirst, bits);
            var toInside = inner.True == inside ? toInner : Complement(toInner, bits);
            if (Intersect(toSecond, toInside, bits) is not { } run || run.Length == 0 || run.Length == BigInteger.One << bits)
                continue;
            if (Immediate(run.Start, bits, signed: true) is not { } start || Immediate(run.Length, bits, signed: false) is not { } length)
                continue;

            // From zero the register itself is compared; otherwise the offset must be able to take its place.
            var offset = outer.Left;
            if (start != 0)
            {
                liveOut ??= Liveness.Compute(function);
                if (liveOut[second].Contains(inner.Left))
                    continue;
                offset = function.NewRegister();
                first.Instructions.Add(new BinaryInstr(BinaryOp.Sub, outer.Width, offset, outer.Left, Operand.Imm(start)) { Source = outer.Source });
            }

            first.Terminator = new BranchTerm(Condition.LtUnsigned, outer.Width, offset, Operand.Imm(length), inside, shared) { Source = outer.Source };
            return true;
        }

        return false;
    }

    /// <summary>A run of values on the ring of 2^bits numbers (an arc): Length of them, from Start upwards, wrapping.</summary>
    private readonly record struct Arc(BigInteger Start, BigInteger Length);

    /// <summary>The values a compare with a constant jumps for, or null for a bit test.</summary>
    private static Arc? Taken(BranchTerm branch, int bits)
    {
        var ring = BigInteger.One << bits;
        var half = ring >> 1;
        // The immediate as the compare reads it: sign-extended to 64 bits, or its low 32 bits.
        var signed = (BigInteger)(long)unchecked((int)branch.Right.Immediate);
        var unsigned = signed < 0 ? signed + ring : signed;
        return branch.Condition switch
        {
            Condition.Eq => new Arc(unsigned, 1),
            Condition.Ne => new Arc((unsigned + 1) % ring, ring - 1),
            Condition.LtUnsigned => new Arc(0, unsigned),
            Condition.LeUnsigned => new Arc(0, unsigned + 1),
            Condition.GtUnsigned => new Arc((unsigned + 1) % ring, ring - 1 - unsigned),
            Condition.GeUnsigned => new Arc(unsigned, ring - unsigned),
            Condition.LtSigned => new Arc(half, signed + half),
            Condition.LeSigned => new Arc(half, signed + half + 1),
            Condition.GtSigned => new Arc(((signed + 1) % ring + ring) % ring, half - 1 - signed),
            Condition.GeSigned => new Arc((signed % ring + ring) % ring, half - signed),
            _ => null,
        };
    }

    private static Arc Complement(Arc run, int bits)
    {
        var ring = BigInteger.One << bits;
        return new Arc((run.Start + run.Length) % ring, ring - run.Length);
    }

    /// <summary>Where two runs meet, when that is one run (possibly empty); null when it is two pieces.</summary>
    private static Arc? Intersect(Arc a, Arc b, int bits)
    {
        var ring = BigInteger.One << bits;
        var pieces = new List<(BigInteger From, BigInteger To)>();
        foreach (var (aFrom, aTo) in Pieces(a, ring))
        {
            foreach (var (bFrom, bTo) in Pieces(b, ring))
            {
                var from = BigInteger.Max(aFrom, bFrom);
                var to = BigInteger.Min(aTo, bTo);
                if (from < to)
                    pieces.Add((from, to));
            }
        }

        switch (pieces.Count)
        {
            case 0:
                return new Arc(0, 0);
            case 1:
                return new Arc(pieces[0].From, pieces[0].To - pieces[0].From);
            case 2 when pieces.Any(p => p.To == ring) && pieces.Any(p => p.From == 0):
                // Across the wrap: the piece that ends at the top runs on into the one that starts at zero.
                var top = pieces.First(p => p.To == ring);
                var bottom = pieces.First(p => p.From == 0);
                return new Arc(top.From, top.To - top.From + bottom.To);
            default:
                return null;
        }
    }

    /// <summary>The run as half-open ranges of plain numbers: one, or two when it wraps.</summary>
    private static IEnumerable<(BigInteger From, BigInteger To)> Pieces(Arc run, BigInteger ring)
    {
        if (run.Start + run.Length <= ring)
        {
            yield return (run.Start, run.Start + run.Length);
            yield break;
        }

        yield return (run.Start, ring);
        yield return (0, run.Start + run.Length - ring);
    }

    /// <summary>
    /// A value as a 32-bit immediate that reads as it at this width: any low 32 bits for a 32-bit operation; for a
    /// 64-bit one, sign extension must give it back (and for an unsigned compare it must not be negative).
    /// </summary>
    private static long? Immediate(BigInteger value, int bits, bool signed)
    {
        if (bits == 32)
            return (long)unchecked((int)(uint)value);
        var ring = BigInteger.One << 64;
        if (value < int.MaxValue + BigInteger.One)
            return (long)value;
        if (signed && value >= ring + int.MinValue)
            return (long)(value - ring);
        return null;
    }
}

using System.Numerics;
using XdpCompiler.Core.Backend;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// A branch that an earlier branch on the only way into it has already decided becomes a jump: the same bit test
/// again ("tiny &lt; 0 &amp;&amp; tinier &lt; 0" where both read bit 15), or a compare the earlier one implies
/// ("(uint)x &gt; 0x8000FFFF" then "(int)x &lt; 0"). The earlier branch must compare the same register, at the same
/// width, and nothing on the way may write it.
/// </summary>
internal static class BranchImplication
{
    public static void Run(IrFunction function)
    {
        var predecessors = function.Predecessors();

        var changed = false;
        foreach (var block in function.Blocks)
        {
            if (block.Terminator is not BranchTerm branch || !branch.Right.IsImmediate || Writes(block, branch.Left))
                continue;
            foreach (var (earlier, earlierTaken) in GuardsOnTheWayIn(function, block, branch.Left, predecessors, depth: 8))
            {
                if (earlier.Width == branch.Width && Implied(earlier, earlierTaken, branch) is { } taken)
                {
                    block.Terminator = new JumpTerm(taken ? branch.True : branch.False) { Source = branch.Source };
                    changed = true;
                    break;
                }
            }
        }

        if (changed)
            function.RemoveUnreachableBlocks();
    }

    /// <summary>
    /// The branches of <paramref name="register"/> against a constant that every path into <paramref name="block"/>
    /// has passed, nearest first, with the way each went: up the chain of single predecessors (at most
    /// <paramref name="depth"/>), stopping at the entry, at a block with several ways in, or at a write to the register
    /// (whoever asks checks <paramref name="block"/> itself).
    /// </summary>
    internal static IEnumerable<(BranchTerm Branch, bool Taken)> GuardsOnTheWayIn(IrFunction function, IrBlock block, int register,
        Dictionary<IrBlock, List<IrBlock>> predecessors, int depth)
    {
        var current = block;
        for (var step = 0; step < depth && current != function.Blocks[0] && predecessors[current].Count == 1; step++)
        {
            var earlier = predecessors[current][0];
            if (earlier.Terminator is BranchTerm { Right.IsImmediate: true } branch && branch.True != branch.False && branch.Left == register)
                yield return (branch, branch.True == current);
            if (Writes(earlier, register))
                yield break;
            current = earlier;
        }
    }

    internal static bool Writes(IrBlock block, int register) => block.Instructions.Any(i => Liveness.Defs(i).Contains(register));

    /// <summary>What <paramref name="branch"/> decides after <paramref name="earlier"/> went the given way, if that settles it.</summary>
    private static bool? Implied(BranchTerm earlier, bool earlierTaken, BranchTerm branch)
    {
        var held = earlierTaken ? earlier.Condition : earlier.Condition.Negate();
        var k = earlier.Right.Immediate;
        if (held == branch.Condition && k == branch.Right.Immediate)
            return true;
        if (held.Negate() == branch.Condition && k == branch.Right.Immediate)
            return false;
        if (held is Condition.Set or Condition.Clear or Condition.Ne)
            return null;
        // An ordered compare or an equality that held confines the register to an interval of its view.
        var signed = held.IsSigned();
        var value = RangeFolding.Constant(branch.Width, signed, k);
        var (min, max) = (branch.Width, signed) switch
        {
            (Width.W32, true) => ((BigInteger)int.MinValue, (BigInteger)int.MaxValue),
            (Width.W32, false) => (BigInteger.Zero, (BigInteger)uint.MaxValue),
            (_, true) => ((BigInteger)long.MinValue, (BigInteger)long.MaxValue),
            _ => (BigInteger.Zero, (BigInteger)ulong.MaxValue),
        };
        var (lo, hi) = held switch
        {
            Condition.Eq => (value, value),
            Condition.GtSigned or Condition.GtUnsigned => (value + 1, max),
            Condition.GeSigned or Condition.GeUnsigned => (value, max),
            Condition.LtSigned or Condition.LtUnsigned => (min, value - 1),
            _ => (min, value),
        };
        if (lo > hi)
            return null;
        // As the register's value: an unsigned 64-bit interval above 2^63 is a negative one; a 32-bit one is what
        // the low half reads as unsigned, which is how RangeFolding.Decide reads a 32-bit compare's operand.
        Interval range;
        if (branch.Width == Width.W64 && !signed)
        {
            var top = BigInteger.One << 63;
            if (hi < top)
                range = new Interval(lo, hi);
            else if (lo >= top)
                range = new Interval(lo - (BigInteger.One << 64), hi - (BigInteger.One << 64));
            else
                return null;
        }
        else if (branch.Width == Width.W32 && signed)
        {
            if (lo >= 0)
                range = new Interval(lo, hi);
            else if (hi < 0)
                range = new Interval(lo + Interval.Two32, hi + Interval.Two32);
            else
                return null;
        }
        else
        {
            range = new Interval(lo, hi);
        }

        return RangeFolding.Decide(branch, range);
    }
}

using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// A branch in block A into a block B that A alone enters and that ends in a branch of its own, one of whose targets
/// is A's other target (the shared one, C); B's other target is D. Two such tests in a row reach D for the values
/// that pass both, and C for the rest, so they can become one test in A: what BooleanBranchMerging and RangeChecks
/// look for. Loops through A or B are left out. The caller stops at its first rewrite (the blocks change).
/// </summary>
internal readonly record struct BranchPair(IrBlock First, BranchTerm Outer, IrBlock Second, BranchTerm Inner, IrBlock Shared, IrBlock Other)
{
    public static IEnumerable<BranchPair> In(IrFunction function)
    {
        var incoming = function.IncomingEdges();
        foreach (var first in function.Blocks)
        {
            if (first.Terminator is not BranchTerm outer || outer.True == outer.False)
                continue;
            foreach (var second in new[] { outer.True, outer.False })
            {
                var shared = second == outer.True ? outer.False : outer.True;
                if (second == first || shared == first || incoming[second] != 1 ||
                    second.Terminator is not BranchTerm inner || inner.True == inner.False || (inner.True != shared && inner.False != shared))
                {
                    continue;
                }

                var other = inner.True == shared ? inner.False : inner.True;
                if (other != first && other != second)
                    yield return new BranchPair(first, outer, second, inner, shared, other);
            }
        }
    }
}

using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// Control-flow clean-up after the passes that empty blocks or decide branches: a branch whose two targets are the
/// same block, or that compares a register with itself, becomes a jump; an edge into an empty block that only jumps on
/// goes straight to where that block goes; a block that is the only way into its successor absorbs it. Straight-line
/// code in one block is what redundancy elimination and peephole rewrites look at, and fewer blocks mean fewer jumps.
/// </summary>
internal static class CfgSimplification
{
    public static void Run(IrFunction function)
    {
        bool changed;
        do
        {
            changed = false;
            foreach (var block in function.Blocks)
            {
                if (block.Terminator is BranchTerm branch)
                {
                    IrBlock? decided = null;
                    if (branch.True == branch.False)
                        decided = branch.True;
                    else if (!branch.Right.IsImmediate && branch.Right.Register == branch.Left && branch.Condition is not (Condition.Set or Condition.Clear))
                        decided = branch.Condition.Evaluate(branch.Width, 0, 0) ? branch.True : branch.False;
                    if (decided is not null)
                    {
                        block.Terminator = new JumpTerm(decided) { Source = branch.Source };
                        changed = true;
                    }
                }

                var threaded = block.Terminator switch
                {
                    JumpTerm jump => jump with { Target = Forward(jump.Target) },
                    BranchTerm conditional => conditional with { True = Forward(conditional.True), False = Forward(conditional.False) },
                    var other => other,
                };
                if (!Equals(threaded, block.Terminator))
                {
                    block.Terminator = threaded;
                    changed = true;
                }
            }

            function.RemoveUnreachableBlocks();
            var predecessors = new Dictionary<IrBlock, int>();
            foreach (var successor in function.Blocks.SelectMany(b => b.Successors))
                predecessors[successor] = predecessors.TryGetValue(successor, out var n) ? n + 1 : 1;

            for (var i = 0; i < function.Blocks.Count; i++)
            {
                var block = function.Blocks[i];
                while (block.Terminator is JumpTerm { Target: var next } && next != block && next != function.Blocks[0] &&
                    predecessors.TryGetValue(next, out var count) && count == 1)
                {
                    block.Instructions.AddRange(next.Instructions);
                    block.Terminator = next.Terminator;
                    var index = function.Blocks.IndexOf(next);
                    function.Blocks.RemoveAt(index);
                    if (index < i)
                        i--;
                    changed = true;
                }
            }
        }
        while (changed);
    }

    /// <summary>Where control really goes from an edge into <paramref name="target"/>, past empty jump-only blocks.</summary>
    private static IrBlock Forward(IrBlock target)
    {
        var seen = new HashSet<IrBlock>();
        while (target is { Instructions.Count: 0, Terminator: JumpTerm { Target: var next } } && seen.Add(target))
            target = next;
        return target;
    }
}

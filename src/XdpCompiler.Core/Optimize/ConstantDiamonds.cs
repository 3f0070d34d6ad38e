using XdpCompiler.Core.Backend;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// A materialized condition ends in two one-instruction blocks laid out together in front of their join J,
/// "v = 1; goto J" and "v = 0; goto J"; the first one's goto is taken by every path through it. Setting one of the
/// constants early, once, where every way into its block starts (the nearest block that dominates its predecessors),
/// and sending those predecessors straight to J removes that block, and the other one then falls into J. No path takes
/// a jump it did not take before: the paths through the first block lose its goto, those through the second run the
/// early constant instead of its own, and the function loses two instructions for the one it gains. clang does the
/// same ("w1 = 0; ... if c goto J; w1 = 1; J:"). The early definition must change nothing anyone reads: v is dead
/// where it is set, and no block between there and the predecessors writes v (so it still holds the constant on
/// arrival at J) or calls a helper (v would need a callee-saved register). It is skipped where v's longer life would
/// crowd the registers.
/// </summary>
internal static class ConstantDiamonds
{
    public static void Run(IrFunction function)
    {
        // Each rewrite changes liveness and dominance: start over after one, until none applies.
        while (RunOnce(function))
            function.RemoveUnreachableBlocks();
    }

    private static bool RunOnce(IrFunction function)
    {
        var blocks = function.Blocks;
        if (blocks.Count < 4)
            return false;
        var predecessors = function.Predecessors();

        Dictionary<IrBlock, HashSet<int>>? liveOut = null;
        Dictionary<IrBlock, IrBlock?>? dominator = null;
        for (var i = 1; i + 2 < blocks.Count; i++)
        {
            var (first, second, join) = (blocks[i], blocks[i + 1], blocks[i + 2]);
            if (!IsConstantJump(first, join, out var register) || !IsConstantJump(second, join, out var other) || other != register ||
                Ir.IsPhysical(register))
            {
                continue;
            }

            liveOut ??= Liveness.Compute(function);
            dominator ??= Placement.ImmediateDominators(function, predecessors);
            // Either block can go: the other then falls into the join. The one more branches lead to goes first, as
            // each of them then jumps to the join directly (clang's choice as well). On a tie (a single compare) the
            // first one (the true value) goes: the branch jumps when the condition holds, as clang's does. Which way
            // is faster depends only on the data; doing as clang does keeps that out of any comparison with it.
            var order = predecessors[first].Count >= predecessors[second].Count ? new[] { first, second } : new[] { second, first };
            foreach (var removed in order)
            {
                if (TryRemove(removed, removed == first ? second : first, join, register, predecessors, liveOut, dominator))
                    return true;
            }
        }

        return false;
    }

    private static bool TryRemove(IrBlock removed, IrBlock kept, IrBlock join, int register, Dictionary<IrBlock, List<IrBlock>> predecessors,
        Dictionary<IrBlock, HashSet<int>> liveOut, Dictionary<IrBlock, IrBlock?> dominator)
    {
        if (predecessors[removed].Count == 0 || predecessors[removed].Contains(removed))
            return false;
        var host = Placement.CommonDominator(predecessors[removed], dominator);
        if (host is null || host == removed || host == kept || host == join || liveOut[host].Contains(register) ||
            Liveness.Uses(host.Terminator).Contains(register))
        {
            return false;
        }

        var region = Placement.Region(host, predecessors[removed], predecessors);
        if (region is null || region.Contains(removed) || region.Contains(kept) ||
            region.Any(b => b.Instructions.Any(ins => ins is CallInstr || Liveness.Defs(ins).Contains(register))) ||
            !Placement.Fits(host, region, liveOut))
        {
            return false;
        }

        host.Instructions.Add(removed.Instructions[0]);
        foreach (var from in predecessors[removed])
        {
            from.Terminator = from.Terminator switch
            {
                JumpTerm jump => jump with { Target = join },
                BranchTerm branch => branch with
                {
                    True = branch.True == removed ? join : branch.True,
                    False = branch.False == removed ? join : branch.False,
                },
                var same => same,
            };
        }

        return true;
    }

    private static bool IsConstantJump(IrBlock block, IrBlock join, out int register)
    {
        register = -1;
        if (block.Instructions.Count != 1 || block.Instructions[0] is not ConstInstr constant || block.Terminator is not JumpTerm jump ||
            jump.Target != join || join == block)
        {
            return false;
        }

        register = constant.Dst;
        return true;
    }
}

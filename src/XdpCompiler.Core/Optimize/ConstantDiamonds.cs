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
    /// <summary>Live registers (the moved one included) allowed at any point it is newly live across, so no spill follows.</summary>
    private const int MaxPressure = 9;

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
            dominator ??= ImmediateDominators(function, predecessors);
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
        var host = CommonDominator(predecessors[removed], dominator);
        if (host is null || host == removed || host == kept || host == join || liveOut[host].Contains(register) ||
            Liveness.Uses(host.Terminator).Contains(register))
        {
            return false;
        }

        var region = Region(host, predecessors[removed], predecessors);
        if (region is null || region.Contains(removed) || region.Contains(kept) ||
            region.Any(b => b.Instructions.Any(ins => ins is CallInstr || Liveness.Defs(ins).Contains(register))) ||
            !Fits(host, region, liveOut, register))
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

    /// <summary>
    /// The blocks on some path from the end of <paramref name="host"/> to the end of one of <paramref name="ends"/>
    /// that does not pass the host again; null when the host lies on a cycle (the analysis assumes it runs once).
    /// </summary>
    internal static HashSet<IrBlock>? Region(IrBlock host, List<IrBlock> ends, Dictionary<IrBlock, List<IrBlock>> predecessors)
    {
        var forward = new HashSet<IrBlock>();
        var work = new Stack<IrBlock>(host.Successors);
        while (work.Count > 0)
        {
            var block = work.Pop();
            if (block == host)
                return null;
            if (!forward.Add(block))
                continue;
            foreach (var successor in block.Successors)
                work.Push(successor);
        }

        var backward = new HashSet<IrBlock>();
        foreach (var end in ends.Where(e => e != host))
            work.Push(end);
        while (work.Count > 0)
        {
            var block = work.Pop();
            if (block == host || !backward.Add(block))
                continue;
            foreach (var predecessor in predecessors[block])
                work.Push(predecessor);
        }

        backward.IntersectWith(forward);
        return backward;
    }

    /// <summary>Whether the register, live from the host's end across the region, leaves room in every instruction's live set.</summary>
    internal static bool Fits(IrBlock host, HashSet<IrBlock> region, Dictionary<IrBlock, HashSet<int>> liveOut, int register, int maxPressure = MaxPressure,
        int count = 1)
    {
        foreach (var block in region.Append(host))
        {
            var live = new HashSet<int>(liveOut[block]);
            live.UnionWith(Liveness.Uses(block.Terminator));
            if (Pressure(live) + count > maxPressure)
                return false;
            if (block == host)
                continue;
            for (var j = block.Instructions.Count - 1; j >= 0; j--)
            {
                var instruction = block.Instructions[j];
                // Across the instruction its definitions and its operands are both in registers.
                live.UnionWith(Liveness.Defs(instruction));
                if (Pressure(live) + count > maxPressure)
                    return false;
                live.ExceptWith(Liveness.Defs(instruction));
                live.UnionWith(Liveness.Uses(instruction));
                if (Pressure(live) + count > maxPressure)
                    return false;
            }
        }

        return true;
    }

    private static int Pressure(HashSet<int> live) => live.Count(r => r != Bpf.Reg.R10);

    /// <summary>The nearest block that dominates all of <paramref name="blocks"/>; null when one is unreachable.</summary>
    internal static IrBlock? CommonDominator(List<IrBlock> blocks, Dictionary<IrBlock, IrBlock?> dominator)
    {
        IrBlock? common = null;
        foreach (var block in blocks)
        {
            if (!dominator.ContainsKey(block))
                return null;
            if (common is null)
            {
                common = block;
                continue;
            }

            var chain = new HashSet<IrBlock>();
            for (IrBlock? b = block; b is not null; b = dominator[b])
                chain.Add(b);
            while (common is not null && !chain.Contains(common))
                common = dominator[common];
            if (common is null)
                return null;
        }

        return common;
    }

    /// <summary>Each reachable block's immediate dominator (the entry's is null), by the iterative data-flow method.</summary>
    internal static Dictionary<IrBlock, IrBlock?> ImmediateDominators(IrFunction function, Dictionary<IrBlock, List<IrBlock>> predecessors)
    {
        var entry = function.Blocks[0];
        var order = new List<IrBlock>();
        var seen = new HashSet<IrBlock>();
        void Visit(IrBlock block)
        {
            if (!seen.Add(block))
                return;
            foreach (var successor in block.Successors)
                Visit(successor);
            order.Add(block);
        }

        Visit(entry);
        order.Reverse();
        var index = new Dictionary<IrBlock, int>();
        for (var i = 0; i < order.Count; i++)
            index[order[i]] = i;

        var idom = new Dictionary<IrBlock, IrBlock?> { [entry] = entry };
        bool changed;
        do
        {
            changed = false;
            foreach (var block in order.Skip(1))
            {
                IrBlock? candidate = null;
                foreach (var predecessor in predecessors[block].Where(idom.ContainsKey))
                {
                    if (candidate is null)
                    {
                        candidate = predecessor;
                        continue;
                    }

                    var (a, b) = (predecessor, candidate);
                    while (a != b)
                    {
                        while (index[a] > index[b])
                            a = idom[a]!;
                        while (index[b] > index[a])
                            b = idom[b]!;
                    }

                    candidate = a;
                }

                if (candidate is not null && (!idom.TryGetValue(block, out var old) || old != candidate))
                {
                    idom[block] = candidate;
                    changed = true;
                }
            }
        }
        while (changed);

        idom[entry] = null;
        return idom;
    }
}

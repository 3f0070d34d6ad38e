using XdpCompiler.Core.Backend;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// What the passes that move a definition to another block (<see cref="ConstantDiamonds"/>,
/// <see cref="ReturnHoisting"/>, <see cref="CodeSinking"/>) ask of the block graph: dominators, the blocks between
/// a new place and its readers, loops, and whether the registers then live there still fit.
/// </summary>
internal static class Placement
{
    /// <summary>Live registers (the moved ones included) allowed at any point they are newly live across, so no spill follows.</summary>
    public const int MaxPressure = 9;

    /// <summary>
    /// The blocks on some path from the end of <paramref name="host"/> to the end of one of <paramref name="ends"/>
    /// that does not pass the host again; null when the host lies on a cycle (the analysis assumes it runs once).
    /// </summary>
    public static HashSet<IrBlock>? Region(IrBlock host, List<IrBlock> ends, Dictionary<IrBlock, List<IrBlock>> predecessors)
    {
        if (Reachable(host) is not { } forward)
            return null;

        var backward = new HashSet<IrBlock>();
        var work = new Stack<IrBlock>();
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

    /// <summary>
    /// The blocks reachable from the end of <paramref name="block"/>; null when the block is among them (it lies on a
    /// cycle).
    /// </summary>
    public static HashSet<IrBlock>? Reachable(IrBlock block)
    {
        var reached = new HashSet<IrBlock>();
        var work = new Stack<IrBlock>(block.Successors);
        while (work.Count > 0)
        {
            var next = work.Pop();
            if (next == block)
                return null;
            if (!reached.Add(next))
                continue;
            foreach (var successor in next.Successors)
                work.Push(successor);
        }

        return reached;
    }

    /// <summary>
    /// Whether <paramref name="count"/> more registers, live from the host's end across the region, leave room in
    /// every instruction's live set.
    /// </summary>
    public static bool Fits(IrBlock host, HashSet<IrBlock> region, Dictionary<IrBlock, HashSet<int>> liveOut, int count = 1)
    {
        foreach (var block in region.Append(host))
        {
            var live = new HashSet<int>(liveOut[block]);
            live.UnionWith(Liveness.Uses(block.Terminator));
            if (Pressure(live) + count > MaxPressure)
                return false;
            if (block == host)
                continue;
            for (var j = block.Instructions.Count - 1; j >= 0; j--)
            {
                var instruction = block.Instructions[j];
                // Across the instruction its definitions and its operands are both in registers.
                live.UnionWith(Liveness.Defs(instruction));
                if (Pressure(live) + count > MaxPressure)
                    return false;
                live.ExceptWith(Liveness.Defs(instruction));
                live.UnionWith(Liveness.Uses(instruction));
                if (Pressure(live) + count > MaxPressure)
                    return false;
            }
        }

        return true;
    }

    private static int Pressure(HashSet<int> live) => live.Count(r => r != Reg.R10);

    /// <summary>The nearest block that dominates all of <paramref name="blocks"/>; null when one is unreachable.</summary>
    public static IrBlock? CommonDominator(List<IrBlock> blocks, Dictionary<IrBlock, IrBlock?> dominator)
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
    public static Dictionary<IrBlock, IrBlock?> ImmediateDominators(IrFunction function, Dictionary<IrBlock, List<IrBlock>> predecessors)
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

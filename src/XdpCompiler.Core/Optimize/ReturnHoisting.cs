using XdpCompiler.Core.Backend;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// After <see cref="ReturnMerging"/> every "return K" is a jump to a shared block "r0 = K; exit". A branch to such a
/// block takes two jumps on x86, whose JIT puts the epilogue at the first exit and turns every other one into a jump
/// to it. clang's shape takes one: r0 is set to K early, once, where every branch that returns K starts (the nearest
/// block dominating them), and those branches go straight to a bare exit shared by all ("w0 = 2; ... if ... goto
/// exit"). The early r0 must change nothing anyone reads: r0 is dead where it is set, and no block between there and
/// the branches writes it or calls a helper. Inner returns go first: their early r0 sits deeper, where fewer blocks
/// lie between. A return one early r0 cannot serve (another return's early r0, or a call, is on the way to some of
/// its branches) gets two when that costs no more than its block (<see cref="HoistInTwo"/>), or keeps its block.
/// </summary>
internal static class ReturnHoisting
{
    public static void Run(IrFunction function)
    {
        if (function.Blocks.Count < 2)
            return;
        var exit = function.NewBlockDetached();
        exit.Terminator = new ExitTerm { Source = function.Blocks[function.Blocks.Count - 1].Terminator?.Source };
        function.Blocks.Add(exit);
        while (HoistOne(function, exit))
        {
        }

        while (HoistInTwo(function, exit))
        {
        }

        function.RemoveUnreachableBlocks();
        var blocks = function.Blocks;
        if (!blocks.Remove(exit))
            return;
        // The bare exit goes behind the first exit that follows every branch to it, which then falls into it instead
        // of having an exit of its own: every jump to it points forward (an unrolled loop stays free of backward
        // jumps), and it stays reached even where the emitter sends those jumps to an earlier exit instead.
        var lastBranch = blocks.FindLastIndex(b => b.Successors.Contains(exit));
        var behind = blocks.FindIndex(lastBranch + 1, b => b.Terminator is ExitTerm);
        if (behind < 0)
        {
            blocks.Add(exit);
            return;
        }

        var source = blocks[behind].Terminator!.Source;
        blocks[behind].Terminator = new JumpTerm(exit) { Source = source };
        exit.Terminator = new ExitTerm { Source = source };
        blocks.Insert(behind + 1, exit);
    }

    /// <summary>
    /// A return no single early r0 serves (another return's early r0 is on the way to some of its branches, or a
    /// helper call is) can still lose its block with two: its branches, in layout order, split into two runs that each
    /// have a place for one. That costs no more instructions than the block did, and every branch to it takes one jump
    /// fewer. Not where a branch could fall into the block instead: that way would then take a jump it did not take.
    /// </summary>
    private static bool HoistInTwo(IrFunction function, IrBlock exit)
    {
        var blocks = function.Blocks;
        var predecessors = function.Predecessors();
        var liveOut = Liveness.Compute(function);
        var dominator = Placement.ImmediateDominators(function, predecessors);
        foreach (var target in blocks.Skip(1).Where(b => IsReturn(b) && b.Terminator is ExitTerm))
        {
            var from = predecessors[target].OrderBy(blocks.IndexOf).ToList();
            var index = blocks.IndexOf(target);
            if (!from.Any(p => p.Terminator is BranchTerm) || from.Contains(blocks[index - 1]) || !from.All(p => SetsR0Freely(p, target, liveOut)))
                continue;
            for (var split = 1; split < from.Count; split++)
            {
                var first = from.GetRange(0, split);
                var second = from.GetRange(split, from.Count - split);
                if (Host(first, target, predecessors, liveOut, dominator) is { } one && Host(second, target, predecessors, liveOut, dominator) is { } two &&
                    one.Host != two.Host && !two.Region.Contains(one.Host) && !one.Region.Contains(two.Host))
                {
                    one.Host.Instructions.Add(target.Instructions[0]);
                    two.Host.Instructions.Add(target.Instructions[0]);
                    Redirect(from, target, exit);
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// Whether r0 can hold the return value from the end of <paramref name="from"/> on its edge to
    /// <paramref name="target"/>: nothing reads r0 on its other edge.
    /// </summary>
    private static bool SetsR0Freely(IrBlock from, IrBlock target, Dictionary<IrBlock, HashSet<int>> liveOut) =>
        from.Terminator switch
        {
            // A jump that goes to the bare exit instead gains nothing by itself, but lets the return's block go.
            JumpTerm => !from.Instructions.Any(i => i is CallInstr),
            // After a helper call in the block the result usually sits in r0 up to the branch (a map lookup's null
            // check): claiming r0 there would cost a copy of it instead of saving an instruction.
            BranchTerm branch => branch.True != branch.False && branch.Left != Reg.R0 && !from.Instructions.Any(i => i is CallInstr) &&
                (branch.Right.IsImmediate || branch.Right.Register != Reg.R0) &&
                !LiveIn(branch.True == target ? branch.False : branch.True, liveOut).Contains(Reg.R0),
            _ => false,
        };

    private static HashSet<int> LiveIn(IrBlock block, Dictionary<IrBlock, HashSet<int>> liveOut) =>
        Liveness.LiveBefore(block.Instructions, 0, block.Terminator, liveOut[block]);

    private static void Redirect(List<IrBlock> from, IrBlock target, IrBlock exit)
    {
        foreach (var block in from)
        {
            block.Terminator = block.Terminator switch
            {
                JumpTerm => new JumpTerm(exit) { Source = block.Terminator.Source },
                BranchTerm branch => branch with
                {
                    True = branch.True == target ? exit : branch.True,
                    False = branch.False == target ? exit : branch.False,
                },
                var other => other,
            };
        }
    }

    private static bool IsReturn(IrBlock block) => block.Instructions.Count == 1 && block.Instructions[0] is ConstInstr { Dst: Reg.R0 };

    /// <summary>Sets one return's r0 early and sends its branches to <paramref name="exit"/>; false when none can be.</summary>
    private static bool HoistOne(IrFunction function, IrBlock exit)
    {
        var blocks = function.Blocks;
        var returns = blocks.Skip(1).Where(b => IsReturn(b) && b.Terminator is ExitTerm).ToList();
        if (returns.Count == 0)
            return false;

        var predecessors = function.Predecessors();
        var liveOut = Liveness.Compute(function);
        Dictionary<IrBlock, IrBlock?>? dominator = null;

        (IrBlock Target, IrBlock Host, int Size)? best = null;
        foreach (var target in returns)
        {
            // Only a return every way into which takes the early r0 (one that stays keeps its own "r0 = K" too), and
            // one a branch leads to: a jump to "r0 = K; exit" alone falls into it or costs what "r0 = K" would.
            var from = predecessors[target];
            if (!from.Any(p => p.Terminator is BranchTerm) || !from.All(p => SetsR0Freely(p, target, liveOut)))
                continue;
            dominator ??= Placement.ImmediateDominators(function, predecessors);
            if (Host(from, target, predecessors, liveOut, dominator) is not { } place)
                continue;

            if (best is null || place.Region.Count < best.Value.Size)
                best = (target, place.Host, place.Region.Count);
        }

        if (best is not { } hoist)
            return false;

        hoist.Host.Instructions.Add(hoist.Target.Instructions[0]);
        Redirect(predecessors[hoist.Target], hoist.Target, exit);
        return true;
    }

    /// <summary>
    /// The nearest block every way to <paramref name="from"/> passes where r0 can be set for them, and the blocks
    /// between (where r0 then lives): r0 is dead there, and nothing on the way writes it or calls a helper.
    /// </summary>
    private static (IrBlock Host, HashSet<IrBlock> Region)? Host(List<IrBlock> from, IrBlock target, Dictionary<IrBlock, List<IrBlock>> predecessors,
        Dictionary<IrBlock, HashSet<int>> liveOut, Dictionary<IrBlock, IrBlock?> dominator)
    {
        var host = Placement.CommonDominator(from, dominator);
        if (host is null || host == target || liveOut[host].Contains(Reg.R0) || Liveness.Uses(host.Terminator).Contains(Reg.R0))
            return null;
        var region = Placement.Region(host, from, predecessors);
        if (region is null || region.Contains(target) ||
            region.Any(b => b.Instructions.Any(i => i is CallInstr || Liveness.Defs(i).Contains(Reg.R0))) ||
            !Placement.Fits(host, region, liveOut))
        {
            return null;
        }

        return (host, region);
    }
}

using XdpCompiler.Core.Backend;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// After <see cref="ReturnMerging"/> every "return K" is a jump to a shared block "r0 = K; exit" (two instructions).
/// A value returned from a single place costs less when r0 is set just before the jump to it and the jump goes to a
/// bare "exit" that all such places share: one instruction instead of two. clang does the same ("w0 = 1; if ... goto
/// exit"). It is only done where r0 is dead on the other way out of the branch, so setting it early changes nothing
/// there; the bare exit is the second half of one of the kept return blocks, so it costs nothing itself.
/// </summary>
internal static class ReturnHoisting
{
    public static void Run(IrFunction function)
    {
        if (function.Blocks.Count < 2)
            return;
        var returns = function.Blocks.Skip(1)
            .Where(b => b.Terminator is ExitTerm && b.Instructions.Count == 1 && b.Instructions[0] is ConstInstr { Dst: Reg.R0 })
            .ToList();
        if (returns.Count < 2)
            return;

        var edges = function.Predecessors();

        var liveIn = LiveIn(function);
        // Only conditional edges gain: an unconditional jump to "r0 = K; exit" falls into it or costs what "r0 = K" would.
        bool Hoistable(IrBlock from, IrBlock target) => from.Terminator switch
        {
            // After a helper call in the block the result usually sits in r0 up to the branch (a map lookup's null
            // check): claiming r0 there would cost a copy of it instead of saving an instruction.
            BranchTerm branch => branch.True != branch.False && branch.Left != Reg.R0 && !from.Instructions.Any(i => i is CallInstr) &&
                (branch.Right.IsImmediate || branch.Right.Register != Reg.R0) &&
                !liveIn[branch.True == target ? branch.False : branch.True].Contains(Reg.R0),
            _ => false,
        };

        // The last return block in the layout hosts the shared exit; only branches placed before it use the exit, so
        // every jump to it points forward (an unrolled loop stays free of backward jumps).
        // A return that stays anyway (reached from several places) hosts it best: a hoisted one would leave behind
        // its own "r0 = K" in front of the exit.
        var candidates = returns.Where(r => edges[r].Count == 1 && Hoistable(edges[r][0], r)).ToList();
        var host = returns.LastOrDefault(r => !candidates.Contains(r)) ?? returns[returns.Count - 1];
        var hostIndex = function.Blocks.IndexOf(host);
        var hoisted = candidates.Where(r => r != host && function.Blocks.IndexOf(edges[r][0]) < hostIndex).ToList();
        if (hoisted.Count == 0)
            return;

        var exit = function.NewBlockDetached();
        exit.Terminator = new ExitTerm { Source = host.Terminator!.Source };
        host.Terminator = new JumpTerm(exit) { Source = host.Terminator.Source };
        function.Blocks.Insert(function.Blocks.IndexOf(host) + 1, exit);

        var changed = new HashSet<IrBlock>();
        foreach (var target in hoisted)
        {
            var from = edges[target][0];
            // Once one edge of a branch goes to the bare exit, r0 is live on it: the other edge cannot set r0 too.
            if (!changed.Add(from))
                continue;
            // A branch that also leads to another return block stays correct: that block sets r0 again.
            from.Instructions.Add(target.Instructions[0]);
            from.Terminator = from.Terminator switch
            {
                BranchTerm branch => branch with
                {
                    True = branch.True == target ? exit : branch.True,
                    False = branch.False == target ? exit : branch.False,
                },
                var other => other,
            };
        }

        function.RemoveUnreachableBlocks();
    }

    private static Dictionary<IrBlock, HashSet<int>> LiveIn(IrFunction function)
    {
        var liveOut = Liveness.Compute(function);
        return function.Blocks.ToDictionary(b => b, b => Liveness.LiveBefore(b.Instructions, 0, b.Terminator, liveOut[b]));
    }
}

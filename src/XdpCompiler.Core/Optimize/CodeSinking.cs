using XdpCompiler.Core.Backend;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// C# computes in source order, so "long y = …; ulong z = …; … if (x &gt; K) return Drop; if (y &lt; K) return Tx; if
/// (z == K) …" computes z on the way to every return, even those that never read it. A register-only computation
/// whose result is read only further on moves down to the nearest block every reader passes (its readers'
/// common dominator), just before its first reader there, as clang sinks it. Only where that costs no register: its
/// result is defined there alone, its inputs are defined once and are live at the new place anyway (so nothing lives
/// longer than before), and the new place is on no loop.
/// </summary>
internal static class CodeSinking
{

    public static void Run(IrFunction function)
    {
        // Only instructions move: the blocks, their dominators and loops, and how often each register is defined stay.
        var cfg = new Cfg(function);
        // Each move changes liveness: start over after one, up to a bound.
        for (var round = 0; round < 256 && SinkOne(function, cfg); round++)
        {
        }
    }

    private sealed class Cfg(IrFunction function)
    {
        public Dictionary<IrBlock, List<IrBlock>> Predecessors { get; } = function.Predecessors();

        public Dictionary<IrBlock, IrBlock?> Dominator => _dominator ??= Placement.ImmediateDominators(function, Predecessors);

        /// <summary>Whether the block can reach itself again.</summary>
        public bool OnCycle(IrBlock block) => _onCycle.TryGetValue(block, out var known) ? known : _onCycle[block] = Placement.Reachable(block) is null;

        public DefinitionCounts Definitions { get; } = new(function);

        private Dictionary<IrBlock, IrBlock?>? _dominator;
        private readonly Dictionary<IrBlock, bool> _onCycle = new();
    }

    private static bool SinkOne(IrFunction function, Cfg cfg)
    {
        var blocks = function.Blocks;
        var readers = new Dictionary<int, HashSet<IrBlock>>();
        foreach (var block in blocks)
        {
            foreach (var instruction in block.Instructions)
            {
                foreach (var use in Liveness.Uses(instruction))
                    Reader(readers, use).Add(block);
            }

            foreach (var use in Liveness.Uses(block.Terminator))
                Reader(readers, use).Add(block);
        }

        Dictionary<IrBlock, HashSet<int>>? liveOut = null;
        foreach (var block in blocks)
        {
            var code = block.Instructions;
            for (var i = code.Count - 1; i >= 0; i--)
            {
                if (!Movable(code, i) || !cfg.Definitions.Once(Liveness.Defs(code[i])[0]))
                    continue;
                var result = Liveness.Defs(code[i])[0];
                if (!readers.TryGetValue(result, out var readBy) || readBy.Contains(block))
                    continue;

                var target = Placement.CommonDominator(readBy.ToList(), cfg.Dominator);
                if (target is null || target == block || cfg.OnCycle(target))
                    continue;

                // It goes with what computes its inputs for it alone (in this block): "y = (v - K1) * K2" moves whole.
                var group = Group(code, i, r => cfg.Definitions.Once(r) && readers.TryGetValue(r, out var at) && at.Count == 1 && at.Contains(block) &&
                    !Liveness.Uses(block.Terminator).Contains(r));
                var defined = new HashSet<int>(group.Select(g => Liveness.Defs(code[g])[0]));
                var inputs = group.SelectMany(g => Liveness.Uses(code[g])).Where(r => r != Reg.R10 && !defined.Contains(r)).Distinct().ToList();
                if (!inputs.All(cfg.Definitions.Once))
                    continue;

                var at = target.Instructions.FindIndex(ins => Liveness.Uses(ins).Contains(result));
                if (at < 0)
                    at = target.Instructions.Count;
                liveOut ??= Liveness.Compute(function);
                var live = Liveness.LiveBefore(target.Instructions, at, target.Terminator, liveOut[target]);
                // The result no longer lives on the way; inputs not live there yet now do, and more of them must fit
                // beside what lives there already.
                var longer = inputs.Count(r => !live.Contains(r)) - 1;
                if (longer > 0)
                {
                    var region = Placement.Region(block, new List<IrBlock> { target }, cfg.Predecessors);
                    if (region is null || !Placement.Fits(block, region, liveOut, longer))
                        continue;
                }

                var moved = group.Select(g => code[g]).ToList();
                foreach (var g in group.OrderByDescending(g => g))
                    code.RemoveAt(g);
                target.Instructions.InsertRange(at, moved);
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The instruction at <paramref name="index"/> and, before it in the block, the movable computations whose every
    /// reader is in the group (so nothing else needs them where they are). <paramref name="local"/> says a result is
    /// defined once and read by this block's instructions only. Indices ascending.
    /// </summary>
    private static List<int> Group(List<IrInstr> code, int index, Func<int, bool> local)
    {
        var group = new SortedSet<int> { index };
        for (var j = index - 1; j >= 0; j--)
        {
            if (!Movable(code, j))
                continue;
            var result = Liveness.Defs(code[j])[0];
            if (!local(result))
                continue;
            var readers = Enumerable.Range(j + 1, code.Count - j - 1).Where(k => Liveness.Uses(code[k]).Contains(result)).ToList();
            if (readers.Count > 0 && readers.All(group.Contains) && Enumerable.Range(j + 1, index - j).All(k => group.Contains(k) || !Liveness.Defs(code[k]).Any(Liveness.Uses(code[j]).Contains)))
                group.Add(j);
        }

        return group.ToList();
    }

    private static HashSet<IrBlock> Reader(Dictionary<int, HashSet<IrBlock>> readers, int register)
    {
        if (!readers.TryGetValue(register, out var set))
            readers[register] = set = new HashSet<IrBlock>();
        return set;
    }

    /// <summary>A register-only computation; a sign extension right behind the load of its value stays (cpu v4 fuses them).</summary>
    private static bool Movable(List<IrInstr> code, int i) =>
        code[i] is ConstInstr or MovInstr or BinaryInstr or NegInstr or ExtendInstr or SwapInstr &&
        !(code[i] is ExtendInstr { Signed: true } extend && i > 0 && code[i - 1] is LoadInstr load && load.Dst == extend.Src) &&
        !Ir.IsPhysical(Liveness.Defs(code[i])[0]) && Liveness.Uses(code[i]).All(r => r == Reg.R10 || !Ir.IsPhysical(r));
}

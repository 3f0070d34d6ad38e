using XdpCompiler.Core.Backend;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// Removes work the program already did: a pure instruction (load, byte swap, extension, arithmetic) whose value is
/// available on every path to it becomes a copy of the earlier result. Only single-definition registers take part,
/// so a value, once computed, never changes; stores, atomics and helper calls end the life of every loaded value.
/// </summary>
internal static class RedundancyElimination
{
    public static void Run(IrFunction function)
    {
        var definitions = new Dictionary<int, int>();
        foreach (var instruction in function.Blocks.SelectMany(b => b.Instructions))
        {
            foreach (var def in Liveness.Defs(instruction))
                definitions[def] = definitions.TryGetValue(def, out var n) ? n + 1 : 1;
        }

        bool Stable(int register) => register == Reg.R10 || !Ir.IsPhysical(register) && definitions.TryGetValue(register, out var n) && n == 1;

        var predecessors = function.Blocks.ToDictionary(b => b, _ => new List<IrBlock>());
        foreach (var block in function.Blocks)
        {
            foreach (var successor in block.Successors)
                predecessors[successor].Add(block);
        }

        // Available expressions at block exits, iterated to a fixed point from "everything" (null) downward.
        var exits = function.Blocks.ToDictionary(b => b, _ => (Dictionary<string, int>?)null);
        bool changed;
        do
        {
            changed = false;
            foreach (var block in function.Blocks)
            {
                var available = Entry(block, function, predecessors, exits);
                foreach (var instruction in block.Instructions)
                    Transfer(instruction, available, Stable, rewrite: null);
                if (exits[block] is not { } previous || !SameContents(previous, available))
                {
                    exits[block] = available;
                    changed = true;
                }
            }
        }
        while (changed);

        foreach (var block in function.Blocks)
        {
            var available = Entry(block, function, predecessors, exits);
            for (var i = 0; i < block.Instructions.Count; i++)
            {
                var index = i;
                Transfer(block.Instructions[i], available, Stable, rewrite: replacement => block.Instructions[index] = replacement);
            }
        }
    }

    private static Dictionary<string, int> Entry(IrBlock block, IrFunction function, Dictionary<IrBlock, List<IrBlock>> predecessors,
        Dictionary<IrBlock, Dictionary<string, int>?> exits)
    {
        if (block == function.Blocks[0])
            return new Dictionary<string, int>();
        Dictionary<string, int>? result = null;
        foreach (var predecessor in predecessors[block])
        {
            if (exits[predecessor] is not { } exit)
                continue; // not computed yet: the optimistic "everything"
            if (result is null)
            {
                result = new Dictionary<string, int>(exit);
                continue;
            }

            foreach (var key in result.Keys.ToList())
            {
                if (!exit.TryGetValue(key, out var register) || register != result[key])
                    result.Remove(key);
            }
        }

        return result ?? new Dictionary<string, int>();
    }

    private static void Transfer(IrInstr instruction, Dictionary<string, int> available, Func<int, bool> stable, Action<IrInstr>? rewrite)
    {
        if (instruction is StoreInstr or AtomicInstr or CallInstr)
        {
            foreach (var loaded in available.Keys.Where(k => k.StartsWith("load", StringComparison.Ordinal)).ToList())
                available.Remove(loaded);
            return;
        }

        var (key, dst) = KeyOf(instruction, stable);
        if (key is null || !stable(dst))
            return;
        if (available.TryGetValue(key, out var earlier))
        {
            rewrite?.Invoke(new MovInstr(dst, earlier, Width.W64) { Source = instruction.Source });
            return;
        }

        available[key] = dst;
    }

    private static (string? Key, int Dst) KeyOf(IrInstr instruction, Func<int, bool> stable)
    {
        string? R(int register) => stable(register) ? register.ToString() : null;
        string? O(Operand operand) => operand.IsImmediate ? "#" + operand.Immediate : R(operand.Register);
        return instruction switch
        {
            LoadInstr l when R(l.Base) is { } b => ($"load {b} {l.Offset} {l.Size}", l.Dst),
            SwapInstr s when R(s.Src) is { } src => ($"swap {src} {s.Bits}", s.Dst),
            ExtendInstr e when R(e.Src) is { } src => ($"ext {src} {e.FromBits} {e.Signed} {e.To}", e.Dst),
            BinaryInstr b when R(b.Left) is { } left && O(b.Right) is { } right => ($"bin {b.Op} {b.Width} {left} {right}", b.Dst),
            _ => (null, -1),
        };
    }

    private static bool SameContents(Dictionary<string, int> a, Dictionary<string, int> b) =>
        a.Count == b.Count && a.All(pair => b.TryGetValue(pair.Key, out var v) && v == pair.Value);
}

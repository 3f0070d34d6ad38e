using XdpCompiler.Core.Backend;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// Removes work the program already did: a pure instruction (load, byte swap, extension, arithmetic) whose value is
/// available on every path to it becomes a copy of the earlier result. Results live in single-definition registers,
/// so a value, once computed, stays put; writing an operand, a store, an atomic or a helper call ends an expression.
/// </summary>
internal static class RedundancyElimination
{
    public static void Run(IrFunction function)
    {
        var definitions = new DefinitionCounts(function);
        var loadedBits = new Dictionary<int, int>();
        foreach (var instruction in function.Blocks.SelectMany(b => b.Instructions))
        {
            if (WidthBound(instruction) is { } bound)
                loadedBits[bound.Register] = bound.Bits;
        }

        // A register defined once by a load of at most this many bits, or by a 32-bit operation when the bits are 32,
        // holds nothing above them: loads and 32-bit operations zero-extend.
        bool Fits(int register, int bits) => definitions.Stable(register) && loadedBits.TryGetValue(register, out var loaded) && loaded <= bits;

        var predecessors = function.Predecessors();

        // Available expressions at block exits, iterated to a fixed point from "everything" (null) downward.
        var exits = function.Blocks.ToDictionary(b => b, _ => (Dictionary<string, Available>?)null);
        bool changed;
        do
        {
            changed = false;
            foreach (var block in function.Blocks)
            {
                var available = Entry(block, function, predecessors, exits);
                foreach (var instruction in block.Instructions)
                    Transfer(instruction, available, definitions.Stable, Fits, rewrite: null);
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
                Transfer(block.Instructions[i], available, definitions.Stable, Fits, rewrite: replacement => block.Instructions[index] = replacement);
            }

            RemoveOverwrittenStores(block, definitions.Stable);
        }
    }

    /// <summary>
    /// A store whose bytes a later store in the block writes again, with nothing in between that may read them, is
    /// never seen: "post = (*scratch)++; *scratch = 0" stores only the zero. Through one base register defined once
    /// (or the frame pointer); a load through another register, an atomic or a helper call may read anything.
    /// </summary>
    private static void RemoveOverwrittenStores(IrBlock block, Func<int, bool> stable)
    {
        var code = block.Instructions;
        for (var i = code.Count - 1; i >= 0; i--)
        {
            if (code[i] is not StoreInstr first || !stable(first.Base))
                continue;
            for (var j = i + 1; j < code.Count; j++)
            {
                var next = code[j];
                if (next is StoreInstr later && MemoryRanges.Covers(later.Base, later.Offset, later.Size, first.Base, first.Offset, first.Size))
                {
                    code.RemoveAt(i);
                    break;
                }

                if (next is AtomicInstr or CallInstr || Liveness.Defs(next).Contains(first.Base) ||
                    next is LoadInstr load && MemoryRanges.Overlap(load.Base, load.Offset, load.Size, first.Base, first.Offset, first.Size))
                {
                    break;
                }
            }
        }
    }

    private static Dictionary<string, Available> Entry(IrBlock block, IrFunction function, Dictionary<IrBlock, List<IrBlock>> predecessors,
        Dictionary<IrBlock, Dictionary<string, Available>?> exits)
    {
        if (block == function.Blocks[0])
            return new Dictionary<string, Available>();
        // A predecessor not computed yet stands for the optimistic "everything".
        var computed = predecessors[block].Select(p => exits[p]).Where(e => e is not null).Select(e => e!);
        return DataFlow.Intersect(computed, (a, b) => a.Register == b.Register) ?? new Dictionary<string, Available>();
    }

    private static void Transfer(IrInstr instruction, Dictionary<string, Available> available, Func<int, bool> stable, Func<int, int, bool> fits,
        Action<IrInstr>? rewrite)
    {
        if (instruction is StoreInstr or AtomicInstr or CallInstr)
        {
            foreach (var loaded in available.Keys.Where(k => k.StartsWith("load", StringComparison.Ordinal)).ToList())
                available.Remove(loaded);
        }

        var (key, dst, operands) = KeyOf(instruction);
        if (key is not null && stable(dst))
        {
            if (available.TryGetValue(key, out var earlier))
            {
                rewrite?.Invoke(new MovInstr(dst, earlier.Register, Width.W64) { Source = instruction.Source });
                return;
            }
        }

        // A register written here changes every expression computed from it.
        foreach (var def in Liveness.Defs(instruction))
        {
            foreach (var stale in available.Where(a => a.Value.Operands.Contains(def)).Select(a => a.Key).ToList())
                available.Remove(stale);
        }

        if (key is not null && stable(dst) && !operands.Contains(dst))
            available[key] = new Available(dst, operands);

        // A store leaves its value in memory: reading the same place back reads that register. A narrower load
        // zero-extends, so it reads the register only when nothing is set above the stored bits (the value was
        // itself loaded at that width or narrower, "udp->Dst = src; if (udp->Dst == 53)", or a 32-bit operation
        // made it for a 32-bit store, "(*count)++; *count += n").
        if (instruction is StoreInstr { Value.IsImmediate: false } store && (store.Base == Reg.R10 || stable(store.Base)) &&
            stable(store.Value.Register) && (store.Size == MemSize.DW || fits(store.Value.Register, store.Size.Bits())))
        {
            available[$"load {store.Base} {store.Offset} {store.Size}"] = new Available(store.Value.Register, new[] { store.Base, store.Value.Register });
        }
    }

    /// <summary>How many low bits of its result an instruction can set: loads and 32-bit operations zero-extend.</summary>
    private static (int Register, int Bits)? WidthBound(IrInstr instruction) => instruction switch
    {
        LoadInstr l => (l.Dst, l.Size.Bits()),
        BinaryInstr { Width: Width.W32 } b => (b.Dst, 32),
        MovInstr { Width: Width.W32 } m => (m.Dst, 32),
        NegInstr { Width: Width.W32 } n => (n.Dst, 32),
        ExtendInstr { Signed: false } e => (e.Dst, e.FromBits),
        ExtendInstr { To: Width.W32 } e => (e.Dst, 32),
        SwapInstr { Bits: < 64 } w => (w.Dst, w.Bits),
        _ => null,
    };

    /// <summary>
    /// The value an instruction computes, as text, and the registers it reads. Operands may be any virtual register
    /// (or R10): a write to one removes the expressions that read it. The result register must be written only here.
    /// </summary>
    private static (string? Key, int Dst, int[] Operands) KeyOf(IrInstr instruction)
    {
        static bool Usable(int register) => register == Reg.R10 || !Ir.IsPhysical(register);
        return instruction switch
        {
            LoadInstr l when Usable(l.Base) => ($"load {l.Base} {l.Offset} {l.Size}", l.Dst, new[] { l.Base }),
            SwapInstr s when Usable(s.Src) => ($"swap {s.Src} {s.Bits}", s.Dst, new[] { s.Src }),
            ExtendInstr e when Usable(e.Src) => ($"ext {e.Src} {e.FromBits} {e.Signed} {e.To}", e.Dst, new[] { e.Src }),
            BinaryInstr { Right.IsImmediate: true } b when Usable(b.Left) =>
                ($"bin {b.Op} {b.Width} {b.Left} #{b.Right.Immediate}", b.Dst, new[] { b.Left }),
            BinaryInstr b when Usable(b.Left) && Usable(b.Right.Register) =>
                ($"bin {b.Op} {b.Width} {b.Left} {b.Right.Register}", b.Dst, new[] { b.Left, b.Right.Register }),
            _ => (null, -1, Array.Empty<int>()),
        };
    }

    /// <summary>A computed value: the register holding it and the registers it was computed from.</summary>
    private sealed record Available(int Register, int[] Operands);

    private static bool SameContents(Dictionary<string, Available> a, Dictionary<string, Available> b) =>
        a.Count == b.Count && a.All(pair => b.TryGetValue(pair.Key, out var v) && v.Register == pair.Value.Register);
}

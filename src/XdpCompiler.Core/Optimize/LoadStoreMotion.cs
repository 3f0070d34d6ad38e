using XdpCompiler.Core.Backend;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// Within a block, a load moves down to just before its first reader or the first store that may write what it
/// reads, and a store moves up to just after what it stores is computed (or a memory access it may overlap), when
/// that store is the value's last reader. A swap written the C# way, "t0..t5 = dst[0..5]; dst[i] = src[i];
/// src[i] = t[i]" (a MAC swap), holds six bytes in registers at once, and two of them land in r6-r9, which the JIT
/// saves and restores on every run; moved, each byte pair is "a = src[i]; b = dst[i]; src[i] = b; dst[i] = a" and
/// needs two registers, as clang's code does. Two accesses are apart only through one base register defined once
/// (or the frame pointer) and byte ranges that do not overlap; anything else, a helper call or an atomic, keeps
/// its order.
/// </summary>
internal static class LoadStoreMotion
{
    public static void Run(IrFunction function)
    {
        var definitions = new DefinitionCounts(function);

        Dictionary<IrBlock, HashSet<int>>? liveOut = null;
        foreach (var block in function.Blocks)
        {
            if (block.Instructions.Count(i => i is LoadInstr or StoreInstr) < 3)
                continue;
            liveOut ??= Liveness.Compute(function);
            SinkLoads(block, definitions.Stable, liveOut[block]);
            HoistStores(block, definitions.Stable, liveOut[block]);
        }
    }

    private static void SinkLoads(IrBlock block, Func<int, bool> stable, HashSet<int> liveOut)
    {
        var code = block.Instructions;
        for (var i = code.Count - 1; i >= 0; i--)
        {
            if (code[i] is not LoadInstr load || !stable(load.Base) || !stable(load.Dst))
                continue;
            var stop = i + 1;
            // Not past a write of the base either: a register defined once may still be redefined on a loop's next
            // round, after the load that read the previous round's value.
            while (stop < code.Count && !Liveness.Uses(code[stop]).Contains(load.Dst) && !Liveness.Defs(code[stop]).Contains(load.Base) &&
                   !Writes(code[stop], load.Base, load.Offset, load.Size))
            {
                stop++;
            }

            // Only towards a reader here: a value read only in later blocks stays where it is. The base must be read
            // at or after the new place anyway, or the move would lengthen its life instead.
            var readHere = code.Skip(stop).Any(c => Liveness.Uses(c).Contains(load.Dst)) || Liveness.Uses(block.Terminator).Contains(load.Dst);
            if (stop == i + 1 || !readHere || !ReadFrom(code, stop, block.Terminator, liveOut, load.Base))
                continue;
            code.RemoveAt(i);
            code.Insert(stop - 1, load);
        }
    }

    private static void HoistStores(IrBlock block, Func<int, bool> stable, HashSet<int> liveOut)
    {
        var code = block.Instructions;
        for (var i = 1; i < code.Count; i++)
        {
            if (code[i] is not StoreInstr { Value.IsImmediate: false } store || !stable(store.Base))
                continue;
            var value = store.Value.Register;
            // Only when the store is the value's last reader: then the register is free from the new place on.
            if (ReadFrom(code, i + 1, block.Terminator, liveOut, value))
                continue;
            var start = i;
            while (start > 0 && !Liveness.Defs(code[start - 1]).Any(d => d == value || d == store.Base) &&
                   !Touches(code[start - 1], store.Base, store.Offset, store.Size) && !ExtendsLoadAbove(code, start - 1))
            {
                start--;
            }

            if (start == i)
                continue;
            code.RemoveAt(i);
            code.Insert(start, store);
        }
    }

    /// <summary>
    /// Whether the instruction extends what the one above it loaded: the emitter fuses such a pair into one
    /// sign-extending load (cpu v4) only when nothing stands between them.
    /// </summary>
    private static bool ExtendsLoadAbove(List<IrInstr> code, int index) =>
        index > 0 && code[index] is ExtendInstr extend && code[index - 1] is LoadInstr load && load.Dst == extend.Src;

    /// <summary>Whether the register is read at or after <paramref name="from"/>, by the terminator, or later.</summary>
    private static bool ReadFrom(List<IrInstr> code, int from, Terminator? terminator, HashSet<int> liveOut, int register) =>
        register == Reg.R10 || liveOut.Contains(register) || Liveness.Uses(terminator).Contains(register) ||
        code.Skip(from).Any(c => Liveness.Uses(c).Contains(register));

    /// <summary>Whether the instruction may write any byte of [base + offset, + size).</summary>
    private static bool Writes(IrInstr instruction, int @base, short offset, MemSize size) => instruction switch
    {
        StoreInstr s => MemoryRanges.Overlap(s.Base, s.Offset, s.Size, @base, offset, size),
        AtomicInstr or CallInstr => true,
        _ => false,
    };

    /// <summary>Whether the instruction may read or write any byte of [base + offset, + size).</summary>
    private static bool Touches(IrInstr instruction, int @base, short offset, MemSize size) => instruction switch
    {
        LoadInstr l => MemoryRanges.Overlap(l.Base, l.Offset, l.Size, @base, offset, size),
        _ => Writes(instruction, @base, offset, size),
    };
}

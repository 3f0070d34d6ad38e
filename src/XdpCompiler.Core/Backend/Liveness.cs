using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Backend;

/// <summary>Register defs and uses of IR instructions, and the live-out sets of blocks (R10 is never tracked).</summary>
internal static class Liveness
{
    private static readonly int[] CallClobbers = { Reg.R0, Reg.R1, Reg.R2, Reg.R3, Reg.R4, Reg.R5 };

    public static Dictionary<IrBlock, HashSet<int>> Compute(IrFunction function)
    {
        var liveIn = function.Blocks.ToDictionary(b => b, _ => new HashSet<int>());
        var liveOut = function.Blocks.ToDictionary(b => b, _ => new HashSet<int>());
        bool changed;
        do
        {
            changed = false;
            for (var i = function.Blocks.Count - 1; i >= 0; i--)
            {
                var block = function.Blocks[i];
                var output = liveOut[block];
                foreach (var successor in block.Successors)
                {
                    if (liveIn.TryGetValue(successor, out var successorIn))
                        output.UnionWith(successorIn);
                }

                var live = LiveBefore(block.Instructions, 0, block.Terminator, output);
                if (!live.SetEquals(liveIn[block]))
                {
                    liveIn[block] = live;
                    changed = true;
                }
            }
        }
        while (changed);

        return liveOut;
    }

    public static IReadOnlyList<int> Defs(IrInstr instruction) => instruction switch
    {
        ConstInstr c => new[] { c.Dst },
        MovInstr m => new[] { m.Dst },
        BinaryInstr b => new[] { b.Dst },
        NegInstr n => new[] { n.Dst },
        ExtendInstr e => new[] { e.Dst },
        SwapInstr s => new[] { s.Dst },
        LoadInstr l => new[] { l.Dst },
        AtomicInstr { FetchDst: { } f } => new[] { f },
        LoadMapInstr m => new[] { m.Dst },
        LoadGlobalInstr g => new[] { g.Dst },
        CallInstr => CallClobbers,
        _ => Array.Empty<int>(),
    };

    public static IReadOnlyList<int> Uses(IrInstr instruction)
    {
        IEnumerable<int> uses = instruction switch
        {
            MovInstr m => new[] { m.Src },
            BinaryInstr b => b.Right.IsImmediate ? new[] { b.Left } : new[] { b.Left, b.Right.Register },
            NegInstr n => new[] { n.Src },
            ExtendInstr e => new[] { e.Src },
            SwapInstr s => new[] { s.Src },
            LoadInstr l => new[] { l.Base },
            StoreInstr s => s.Value.IsImmediate ? new[] { s.Base } : new[] { s.Base, s.Value.Register },
            // Compare-exchange compares with, and returns the old value in, R0.
            AtomicInstr { Op: AtomicOp.CmpXchg } a => new[] { a.Base, a.Value, (int)Reg.R0 },
            AtomicInstr a => new[] { a.Base, a.Value },
            CallInstr c => Enumerable.Range(Reg.R1, c.ArgumentCount),
            _ => Array.Empty<int>(),
        };
        return uses.Where(r => r != Reg.R10).Distinct().ToArray();
    }

    public static IReadOnlyList<int> Uses(Terminator? terminator) => terminator switch
    {
        BranchTerm b => b.Right.IsImmediate ? new[] { b.Left } : new[] { b.Left, b.Right.Register },
        ExitTerm => new[] { (int)Reg.R0 },
        _ => Array.Empty<int>(),
    };

    /// <summary>
    /// What is live just before <paramref name="code"/>[<paramref name="index"/>] (just before the terminator when the
    /// index is the count), from the block's live-out set: the block's code may be a copy being tried out.
    /// </summary>
    public static HashSet<int> LiveBefore(IReadOnlyList<IrInstr> code, int index, Terminator? terminator, HashSet<int> liveOut)
    {
        var live = new HashSet<int>(liveOut);
        live.UnionWith(Uses(terminator));
        for (var j = code.Count - 1; j >= index; j--)
        {
            live.ExceptWith(Defs(code[j]));
            live.UnionWith(Uses(code[j]));
        }

        return live;
    }

    public static IrInstr Rename(IrInstr instruction, int from, int to)
    {
        int R(int r) => r == from ? to : r;
        Operand O(Operand o) => o.IsImmediate ? o : Operand.Reg(R(o.Register));
        return instruction switch
        {
            ConstInstr c => c with { Dst = R(c.Dst) },
            MovInstr m => m with { Dst = R(m.Dst), Src = R(m.Src) },
            BinaryInstr b => b with { Dst = R(b.Dst), Left = R(b.Left), Right = O(b.Right) },
            NegInstr n => n with { Dst = R(n.Dst), Src = R(n.Src) },
            ExtendInstr e => e with { Dst = R(e.Dst), Src = R(e.Src) },
            SwapInstr s => s with { Dst = R(s.Dst), Src = R(s.Src) },
            LoadInstr l => l with { Dst = R(l.Dst), Base = R(l.Base) },
            StoreInstr s => s with { Base = R(s.Base), Value = O(s.Value) },
            AtomicInstr a => a with { Base = R(a.Base), Value = R(a.Value), FetchDst = a.FetchDst is { } f ? R(f) : null },
            LoadMapInstr m => m with { Dst = R(m.Dst) },
            LoadGlobalInstr g => g with { Dst = R(g.Dst) },
            _ => instruction,
        };
    }

    public static BranchTerm Rename(BranchTerm branch, int from, int to) => branch with
    {
        Left = branch.Left == from ? to : branch.Left,
        Right = !branch.Right.IsImmediate && branch.Right.Register == from ? Operand.Reg(to) : branch.Right,
    };
}

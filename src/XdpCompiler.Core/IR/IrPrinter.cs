using System.Text;

namespace XdpCompiler.Core.IR;

/// <summary>A readable listing of a function's IR, one instruction per line (for tests and for debugging passes).</summary>
public static class IrPrinter
{
    public static string Print(IrFunction function)
    {
        var text = new StringBuilder();
        foreach (var block in function.Blocks)
        {
            text.Append(block).Append(":\n");
            foreach (var instruction in block.Instructions)
                text.Append("  ").Append(Print(instruction)).Append('\n');
            text.Append("  ").Append(Print(block.Terminator)).Append('\n');
        }

        return text.ToString();
    }

    public static string Print(IrInstr instruction)
    {
        static string R(int register) => Ir.RegName(register);
        static string W(Width width) => width == Width.W32 ? "32" : "64";
        return instruction switch
        {
            ConstInstr c => $"{R(c.Dst)} = {c.Value}",
            MovInstr m => $"{R(m.Dst)} = mov{W(m.Width)} {R(m.Src)}",
            BinaryInstr b => $"{R(b.Dst)} = {b.Op.ToString().ToLowerInvariant()}{W(b.Width)} {R(b.Left)}, {b.Right}",
            NegInstr n => $"{R(n.Dst)} = neg{W(n.Width)} {R(n.Src)}",
            ExtendInstr e => $"{R(e.Dst)} = {(e.Signed ? "sext" : "zext")}{e.FromBits}to{W(e.To)} {R(e.Src)}",
            SwapInstr s => $"{R(s.Dst)} = swap{s.Bits} {R(s.Src)}",
            LoadInstr l => $"{R(l.Dst)} = load{l.Size.Bits()} [{R(l.Base)}{l.Offset:+0;-0}]",
            StoreInstr s => $"store{s.Size.Bits()} [{R(s.Base)}{s.Offset:+0;-0}], {s.Value}",
            AtomicInstr a => $"{(a.FetchDst is { } f ? R(f) + " = " : "")}atomic {a.Op} [{R(a.Base)}{a.Offset:+0;-0}], {R(a.Value)}",
            LoadMapInstr m => $"{R(m.Dst)} = map {m.Map}",
            LoadGlobalInstr g => $"{R(g.Dst)} = global {g.Variable}",
            CallInstr c => $"call {c.Helper}/{c.ArgumentCount}",
            _ => instruction.ToString(),
        };
    }

    public static string Print(Terminator? terminator) => terminator switch
    {
        JumpTerm j => $"goto {j.Target}",
        BranchTerm b => $"if{(b.Width == Width.W32 ? "32" : "")} {Ir.RegName(b.Left)} {b.Condition} {b.Right} goto {b.True} else {b.False}",
        ExitTerm => "exit",
        _ => "<no terminator>",
    };
}

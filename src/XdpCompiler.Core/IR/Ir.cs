using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Diagnostics;

namespace XdpCompiler.Core.IR;

// A three-address IR over virtual registers, close to eBPF but free of its two-address form and register limits.
// Virtual register numbers 0-10 are the physical registers R0-R10 (pre-coloured: call arguments, return value, frame
// pointer); numbers from 11 up are virtual. Variables are mutable virtual registers (not SSA): the frontend assigns a
// local's register wherever C# assigns the local.

/// <summary>Operation width: ALU32 ops write the low 32 bits and zero the upper half, as the BPF ISA does.</summary>
public enum Width : byte
{
    W32 = 32,
    W64 = 64,
}

public enum BinaryOp : byte
{
    Add,
    Sub,
    Mul,
    DivUnsigned,
    ModUnsigned,
    And,
    Or,
    Xor,
    Shl,
    ShrUnsigned,
    ShrSigned,

    /// <summary>Truncating signed division (cpu v4 <c>sdiv</c>); the frontend emits it only for v4.</summary>
    DivSigned,

    /// <summary>Signed remainder with the dividend's sign (cpu v4 <c>smod</c>).</summary>
    ModSigned,
}

public enum Condition : byte
{
    Eq,
    Ne,
    GtUnsigned,
    GeUnsigned,
    LtUnsigned,
    LeUnsigned,
    GtSigned,
    GeSigned,
    LtSigned,
    LeSigned,

    /// <summary>(left &amp; right) != 0: the ISA's <c>jset</c>. Made by <c>BitTestFolding</c>, never by the frontend.</summary>
    Set,

    /// <summary>(left &amp; right) == 0: <see cref="Set"/> with its targets exchanged (the ISA has no such jump).</summary>
    Clear,
}

public static class ConditionExtensions
{
    public static Condition Negate(this Condition c) => c switch
    {
        Condition.Eq => Condition.Ne,
        Condition.Ne => Condition.Eq,
        Condition.GtUnsigned => Condition.LeUnsigned,
        Condition.GeUnsigned => Condition.LtUnsigned,
        Condition.LtUnsigned => Condition.GeUnsigned,
        Condition.LeUnsigned => Condition.GtUnsigned,
        Condition.GtSigned => Condition.LeSigned,
        Condition.GeSigned => Condition.LtSigned,
        Condition.LtSigned => Condition.GeSigned,
        Condition.LeSigned => Condition.GtSigned,
        Condition.Set => Condition.Clear,
        Condition.Clear => Condition.Set,
        _ => throw new ArgumentOutOfRangeException(nameof(c)),
    };

    public static bool IsSigned(this Condition c) => c is Condition.GtSigned or Condition.GeSigned or Condition.LtSigned or Condition.LeSigned;

    /// <summary>What a jump on this condition decides for two known register values (32-bit compares see the low halves).</summary>
    public static bool Evaluate(this Condition c, Width width, long a, long b)
    {
        if (width == Width.W32)
        {
            a = c.IsSigned() ? (int)a : (uint)a;
            b = c.IsSigned() ? (int)b : (uint)b;
        }

        return c switch
        {
            Condition.Eq => a == b,
            Condition.Ne => a != b,
            Condition.GtSigned => a > b,
            Condition.GeSigned => a >= b,
            Condition.LtSigned => a < b,
            Condition.LeSigned => a <= b,
            Condition.GtUnsigned => (ulong)a > (ulong)b,
            Condition.GeUnsigned => (ulong)a >= (ulong)b,
            Condition.LtUnsigned => (ulong)a < (ulong)b,
            Condition.Set => (a & b) != 0,
            Condition.Clear => (a & b) == 0,
            _ => (ulong)a <= (ulong)b,
        };
    }

    /// <summary>The condition with its operands exchanged: a &lt; b is b &gt; a.</summary>
    public static Condition Swap(this Condition c) => c switch
    {
        Condition.GtUnsigned => Condition.LtUnsigned,
        Condition.GeUnsigned => Condition.LeUnsigned,
        Condition.LtUnsigned => Condition.GtUnsigned,
        Condition.LeUnsigned => Condition.GeUnsigned,
        Condition.GtSigned => Condition.LtSigned,
        Condition.GeSigned => Condition.LeSigned,
        Condition.LtSigned => Condition.GtSigned,
        Condition.LeSigned => Condition.GeSigned,
        _ => c,
    };
}

/// <summary>A register or a 32-bit immediate (sign-extended to 64 bits by 64-bit operations, as in the ISA).</summary>
public readonly record struct Operand(int Register, long Immediate, bool IsImmediate)
{
    public static Operand Reg(int register) => new(register, 0, false);

    public static Operand Imm(long value) => new(-1, value, true);

    public override string ToString() => IsImmediate ? Immediate.ToString() : Ir.RegName(Register);
}

public abstract record IrInstr
{
    /// <summary>Where in the C# source this instruction came from (for line info and verifier messages).</summary>
    public SourceSpan? Source { get; init; }
}

/// <summary>dst = value (any 64-bit constant).</summary>
public sealed record ConstInstr(int Dst, long Value) : IrInstr;

/// <summary>dst = src; a 32-bit move truncates to the low half.</summary>
public sealed record MovInstr(int Dst, int Src, Width Width) : IrInstr;

/// <summary>dst = a op b.</summary>
public sealed record BinaryInstr(BinaryOp Op, Width Width, int Dst, int Left, Operand Right) : IrInstr;

/// <summary>dst = -src.</summary>
public sealed record NegInstr(int Dst, int Src, Width Width) : IrInstr;

/// <summary>dst = src converted from <see cref="FromBits"/> bits to a normalized value (sign- or zero-extended) of <see cref="To"/> width.</summary>
public sealed record ExtendInstr(int Dst, int Src, int FromBits, bool Signed, Width To) : IrInstr;

/// <summary>dst = byte-swapped low <see cref="Bits"/> bits of src (network/host order on a little-endian host).</summary>
public sealed record SwapInstr(int Dst, int Src, int Bits) : IrInstr;

/// <summary>dst = *(size *)(base + offset), zero-extended.</summary>
public sealed record LoadInstr(int Dst, int Base, short Offset, MemSize Size) : IrInstr;

/// <summary>*(size *)(base + offset) = value.</summary>
public sealed record StoreInstr(int Base, short Offset, MemSize Size, Operand Value) : IrInstr;

/// <summary>lock *(size *)(base + offset) op= value; with <see cref="FetchDst"/> set, that register receives the old value.</summary>
public sealed record AtomicInstr(AtomicOp Op, int Base, short Offset, MemSize Size, int Value, int? FetchDst) : IrInstr;

/// <summary>dst = address of map <see cref="Map"/> (ld_imm64 with a relocation the loader resolves).</summary>
public sealed record LoadMapInstr(int Dst, string Map) : IrInstr;

/// <summary>dst = address of global variable <see cref="Variable"/> in its data section's map value (ld_imm64 + relocation).</summary>
public sealed record LoadGlobalInstr(int Dst, string Variable) : IrInstr;

/// <summary>
/// Helper call: arguments are already in R1..R<see cref="ArgumentCount"/>; the result is in R0; R1-R5 are clobbered.
/// With <see cref="Subprogram"/> set it is a BPF-to-BPF call of that <c>.text</c> function instead (same convention;
/// <see cref="Helper"/> is then -1).
/// </summary>
public sealed record CallInstr(int Helper, int ArgumentCount) : IrInstr
{
    public string? Subprogram { get; init; }
}

public abstract record Terminator
{
    public SourceSpan? Source { get; init; }
}

public sealed record JumpTerm(IrBlock Target) : Terminator;

/// <summary>if (left cond right) goto True else goto False.</summary>
public sealed record BranchTerm(Condition Condition, Width Width, int Left, Operand Right, IrBlock True, IrBlock False) : Terminator;

/// <summary>Return the value in R0.</summary>
public sealed record ExitTerm : Terminator;

public sealed class IrBlock
{
    public IrBlock(int id) => Id = id;

    public int Id { get; }

    public List<IrInstr> Instructions { get; } = new();

    public Terminator? Terminator { get; set; }

    public IEnumerable<IrBlock> Successors => Terminator switch
    {
        JumpTerm j => new[] { j.Target },
        BranchTerm b => new[] { b.True, b.False },
        _ => Array.Empty<IrBlock>(),
    };

    public override string ToString() => $"B{Id}";
}

/// <summary>One function: blocks in layout order (the first is the entry), registers and stack used.</summary>
public sealed class IrFunction
{
    public IrFunction(string name) => Name = name;

    public string Name { get; }

    public List<IrBlock> Blocks { get; } = new();

    /// <summary>Bytes of stack the frontend reserved (slots at negative offsets from R10).</summary>
    public int StackSize { get; set; }

    public int NextRegister { get; set; } = Ir.FirstVirtual;

    public int NewRegister() => NextRegister++;

    public int NextBlockId { get; set; }

    /// <summary>Reserves an aligned stack slot and returns its (negative) offset from R10.</summary>
    public short AllocateStack(int size, int alignment)
    {
        StackSize = (StackSize + size + alignment - 1) / alignment * alignment;
        return (short)-StackSize;
    }
}

public static class Ir
{
    public const int FirstVirtual = Reg.Count;

    public static bool IsPhysical(int register) => register < FirstVirtual;

    public static string RegName(int register) => IsPhysical(register) ? $"r{register}" : $"v{register}";

    public static int Bits(this MemSize size) => size switch
    {
        MemSize.B => 8,
        MemSize.H => 16,
        MemSize.W => 32,
        _ => 64,
    };

    public static MemSize SizeForBytes(int bytes) => bytes switch
    {
        1 => MemSize.B,
        2 => MemSize.H,
        4 => MemSize.W,
        8 => MemSize.DW,
        _ => throw new ArgumentOutOfRangeException(nameof(bytes), $"No eBPF load/store of {bytes} bytes."),
    };
}

public static class IrFunctionExtensions
{
    /// <summary>A block that is not yet in the layout; the frontend places it when it starts filling it.</summary>
    public static IrBlock NewBlockDetached(this IrFunction function) => new(function.NextBlockId++);

    /// <summary>Each block's predecessors, each listed once (a branch with both edges to one block counts once).</summary>
    public static Dictionary<IrBlock, List<IrBlock>> Predecessors(this IrFunction function)
    {
        var predecessors = function.Blocks.ToDictionary(b => b, _ => new List<IrBlock>());
        foreach (var block in function.Blocks)
        {
            foreach (var successor in block.Successors.Distinct())
            {
                if (predecessors.TryGetValue(successor, out var list))
                    list.Add(block);
            }
        }

        return predecessors;
    }

    /// <summary>
    /// How many edges enter each block that any enters: unlike <see cref="Predecessors"/>, a branch with both edges to
    /// one block counts twice (such a block is not entered from one place only).
    /// </summary>
    public static Dictionary<IrBlock, int> IncomingEdges(this IrFunction function)
    {
        var edges = new Dictionary<IrBlock, int>();
        foreach (var successor in function.Blocks.SelectMany(b => b.Successors))
            edges[successor] = edges.TryGetValue(successor, out var n) ? n + 1 : 1;
        return edges;
    }

    /// <summary>Drops blocks no path from the entry reaches (code after a return).</summary>
    public static void RemoveUnreachableBlocks(this IrFunction function)
    {
        if (function.Blocks.Count == 0)
            return;
        var reached = new HashSet<IrBlock>();
        var work = new Stack<IrBlock>();
        work.Push(function.Blocks[0]);
        while (work.Count > 0)
        {
            var block = work.Pop();
            if (!reached.Add(block))
                continue;
            foreach (var successor in block.Successors)
                work.Push(successor);
        }

        function.Blocks.RemoveAll(b => !reached.Contains(b));
    }
}

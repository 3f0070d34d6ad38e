using System.Collections.Immutable;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Objects;
using XdpCompiler.TestKit;
using Xunit;
using static XdpCompiler.Core.Bpf.Reg;

namespace XdpCompiler.Core.Tests.Disassembly;

/// <summary>
/// A fixed, hand-built program touching every instruction class, listed with all the optional parts, against a
/// committed golden file (regenerate with XDP_ACCEPT_SNAPSHOTS=1 and review the diff).
/// </summary>
public sealed class DisassemblerGoldenTests
{
    [Fact]
    public void Listing() => Snapshot.Verify(Disassembler.Disassemble(Program.Instructions, DisassemblyOptions.ForProgram(Program)));

    [Fact]
    public void ListingWithAlu32WithoutRawBytes() => Snapshot.Verify(Disassembler.Disassemble(
        Program.Instructions,
        DisassemblyOptions.ForProgram(Program) with { Alu32 = true, ShowRawBytes = false }));

    private static BpfProgram Program { get; } = Build();

    private static BpfProgram Build()
    {
        var code = ImmutableArray.CreateBuilder<Instruction>();
        var lines = ImmutableArray.CreateBuilder<BpfLineInfo>();
        var relocations = ImmutableArray.CreateBuilder<BpfRelocation>();

        void Line(int line, string text) => lines.Add(new BpfLineInfo(code.Count, "DdosFilter.cs", line, 9, text));
        void Wide(byte dst, long value, PseudoLoad pseudo = PseudoLoad.None)
        {
            var (first, second) = Instruction.LoadImm64(dst, value, pseudo);
            code.Add(first);
            code.Add(second);
        }

        Line(10, "byte* data = ctx.Data, end = ctx.DataEnd;");
        code.Add(Instruction.Load(MemSize.W, R2, R1, 4));
        code.Add(Instruction.Load(MemSize.W, R3, R1, 0));
        Line(11, "if (data + 34 > end) return XdpAction.Pass;");
        code.Add(Instruction.Mov64Reg(R4, R3));
        code.Add(Instruction.Alu64(AluOp.Add, R4, 34));
        code.Add(Instruction.Mov32(R0, 2));
        code.Add(Instruction.JumpReg(JmpOp.Jgt, R4, R2, 29));
        Line(13, "if (eth->EtherType != EtherType.IPv4) return XdpAction.Pass;");
        code.Add(Instruction.Load(MemSize.H, R4, R3, 12));
        code.Add(Instruction.ToBigEndian(R4, 16));
        code.Add(Instruction.Jump32(JmpOp.Jne, R4, 0x0800, 26));
        Line(15, "if (ip->Protocol != IpProtocol.Udp) return XdpAction.Pass;");
        code.Add(Instruction.Load(MemSize.B, R4, R3, 23));
        code.Add(Instruction.Jump(JmpOp.Jne, R4, 17, 24));
        Line(16, "ulong* count = Drops.Lookup(0);");
        code.Add(Instruction.StoreImm(MemSize.W, R10, -4, 0));
        code.Add(Instruction.Mov64Reg(R2, R10));
        code.Add(Instruction.Alu64(AluOp.Add, R2, -4));
        relocations.Add(new BpfRelocation(code.Count, "Drops", BpfRelocationKind.Map));
        Wide(R1, 0);
        code.Add(Instruction.CallHelper(1));
        Line(17, "if (count != null) Interlocked.Increment(ref *count);");
        code.Add(Instruction.Jump(JmpOp.Jeq, R0, 0, 3));
        code.Add(Instruction.Mov64(R1, 1));
        code.Add(Instruction.Atomic(MemSize.DW, AtomicOp.Add, R0, 0, R1));
        code.Add(Instruction.Atomic(MemSize.W, AtomicOp.Add | AtomicOp.Fetch, R0, 8, R1));
        Line(18, "Stats.Mix(ref hash, ip->SourceAddress);");
        code.Add(Instruction.Load(MemSize.W, R1, R3, 26));
        code.Add(new Instruction(0x91, R5, R3, 22, 0));
        code.Add(new Instruction(0xbf, R6, R5, 8, 0));
        code.Add(Instruction.Alu64Reg(AluOp.Xor, R6, R1));
        code.Add(Instruction.Alu32(AluOp.Lsh, R6, 5));
        code.Add(new Instruction(0x37, R6, 0, 1, -7));
        code.Add(Instruction.Alu64(AluOp.Neg, R6, 0));
        code.Add(new Instruction(0xd7, R6, 0, 0, 32));
        code.Add(Instruction.Store(MemSize.DW, R10, -16, R6));
        code.Add(Instruction.Atomic(MemSize.DW, AtomicOp.CmpXchg, R10, -16, R6));
        relocations.Add(new BpfRelocation(code.Count, "Mix", BpfRelocationKind.Call));
        code.Add(Instruction.CallLocal(-1));
        Line(19, "return XdpAction.Drop;");
        Wide(R7, 0x1122334455667788);
        code.Add(Instruction.Mov32(R0, 1));
        code.Add(Instruction.Exit());
        // Not valid code, but what a listing must survive: an encoding LLVM rejects.
        code.Add(new Instruction(0xff, 0, 0, 0, 0));

        return new BpfProgram("xdp_drop_udp", "xdp", code.ToImmutable(), relocations.ToImmutable(), lines.ToImmutable());
    }
}

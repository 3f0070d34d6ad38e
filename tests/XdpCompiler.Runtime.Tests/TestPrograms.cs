using System.Collections.Immutable;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Objects;

namespace XdpCompiler.Runtime.Tests;

/// <summary>Builds instruction lists by hand, recording map relocations where <c>ld_imm64</c>s name maps.</summary>
internal sealed class Asm
{
    private readonly List<Instruction> _code = [];
    private readonly List<BpfRelocation> _relocations = [];

    public int Count => _code.Count;

    public Asm Add(params Instruction[] instructions)
    {
        _code.AddRange(instructions);
        return this;
    }

    /// <summary>"rDst = map ll", relocated by the loader to the map's fd.</summary>
    public Asm LoadMap(byte dst, string map)
    {
        _relocations.Add(new BpfRelocation(_code.Count, map, BpfRelocationKind.Map));
        var (first, second) = Instruction.LoadImm64(dst, 0);
        _code.Add(first);
        _code.Add(second);
        return this;
    }

    public BpfProgram Program(string name, ImmutableArray<BpfLineInfo> lines = default, string section = "xdp") =>
        new(name, section, _code.ToImmutableArray(), _relocations.ToImmutableArray(), lines.IsDefault ? [] : lines);
}

internal static class TestPrograms
{
    public const int XdpAborted = 0, XdpDrop = 1, XdpPass = 2, XdpTx = 3;

    // struct xdp_md offsets.
    public const short Data = 0, DataEnd = 4;

    public const int HelperMapLookupElem = 1;
    public const int HelperXdpAdjustHead = 44;

    public static BpfObject Object(string name, BpfProgram program, params BpfMap[] maps) =>
        new(name, "GPL", [program], [.. maps], new BtfTypeTable([]));

    public static BpfObject Object(string name, ImmutableArray<BpfProgram> programs, ImmutableArray<BpfMap> maps, BtfTypeTable types, string license = "GPL") =>
        new(name, license, programs, maps, types);

    /// <summary>"return XDP_DROP".</summary>
    public static BpfProgram ReturnDrop(string name = "xdp_drop") =>
        new Asm().Add(Instruction.Mov64(Reg.R0, XdpDrop), Instruction.Exit()).Program(name);

    /// <summary>"return XDP_PASS".</summary>
    public static BpfProgram ReturnPass(string name = "xdp_pass") =>
        new Asm().Add(Instruction.Mov64(Reg.R0, XdpPass), Instruction.Exit()).Program(name);

    /// <summary>
    /// Looks up key 0 in a per-CPU array, null-checks the value, adds 1 to it atomically and returns
    /// <paramref name="verdict"/>.
    /// </summary>
    public static BpfProgram CountAndReturn(string map, int verdict, string name = "xdp_count") => new Asm()
        .Add(
            Instruction.StoreImm(MemSize.W, Reg.R10, -4, 0),        // u32 key = 0 on the stack
            Instruction.Mov64Reg(Reg.R2, Reg.R10),
            Instruction.Alu64(AluOp.Add, Reg.R2, -4))              // r2 = &key
        .LoadMap(Reg.R1, map)                                     // r1 = map (instructions 3-4)
        .Add(
            Instruction.CallHelper(HelperMapLookupElem),            // 5: r0 = bpf_map_lookup_elem(map, &key)
            Instruction.Jump(JmpOp.Jeq, Reg.R0, 0, 2),              // 6: if r0 == NULL skip the add
            Instruction.Mov64(Reg.R1, 1),
            Instruction.Atomic(MemSize.DW, AtomicOp.Add, Reg.R0, 0, Reg.R1), // lock *(u64 *)r0 += 1
            Instruction.Mov64(Reg.R0, verdict),
            Instruction.Exit())
        .Program(name);

    /// <summary>Drops when byte 12 (the EtherType's high byte) is 0x08, after checking 13 bytes against data_end.</summary>
    public static BpfProgram DropIfByte12Is8(string name = "xdp_eth8") => new Asm()
        .Add(
            Instruction.Load(MemSize.W, Reg.R2, Reg.R1, Data),      // 0: r2 = ctx->data
            Instruction.Load(MemSize.W, Reg.R3, Reg.R1, DataEnd),   // 1: r3 = ctx->data_end
            Instruction.Mov64Reg(Reg.R4, Reg.R2),                   // 2
            Instruction.Alu64(AluOp.Add, Reg.R4, 13),               // 3: r4 = data + 13
            Instruction.JumpReg(JmpOp.Jgt, Reg.R4, Reg.R3, 4),      // 4: if r4 > data_end goto pass
            Instruction.Load(MemSize.B, Reg.R5, Reg.R2, 12),        // 5: r5 = data[12]
            Instruction.Jump(JmpOp.Jne, Reg.R5, 8, 2),              // 6: if r5 != 8 goto pass
            Instruction.Mov64(Reg.R0, XdpDrop),                     // 7
            Instruction.Exit(),                                     // 8
            Instruction.Mov64(Reg.R0, XdpPass),                     // 9: pass
            Instruction.Exit())                                     // 10
        .Program(name);

    /// <summary>Writes 0xAA over byte 0 (after a bounds check) and returns XDP_TX.</summary>
    public static BpfProgram MarkAndTx(string name = "xdp_mark") => new Asm()
        .Add(
            Instruction.Load(MemSize.W, Reg.R2, Reg.R1, Data),
            Instruction.Load(MemSize.W, Reg.R3, Reg.R1, DataEnd),
            Instruction.Mov64Reg(Reg.R4, Reg.R2),
            Instruction.Alu64(AluOp.Add, Reg.R4, 1),
            Instruction.JumpReg(JmpOp.Jgt, Reg.R4, Reg.R3, 3),
            Instruction.StoreImm(MemSize.B, Reg.R2, 0, 0xAA),
            Instruction.Mov64(Reg.R0, XdpTx),
            Instruction.Exit(),
            Instruction.Mov64(Reg.R0, XdpAborted),
            Instruction.Exit())
        .Program(name);

    /// <summary>Strips the 14-byte Ethernet header with bpf_xdp_adjust_head and passes the rest.</summary>
    public static BpfProgram StripEthernet(string name = "xdp_strip") => new Asm()
        .Add(
            Instruction.Mov64(Reg.R2, 14),
            Instruction.CallHelper(HelperXdpAdjustHead),            // r1 is still ctx
            Instruction.Mov64(Reg.R0, XdpPass),
            Instruction.Exit())
        .Program(name);

    /// <summary>Reads packet byte 12 without checking data_end: the verifier must refuse instruction 1.</summary>
    public static BpfProgram UncheckedPacketRead(string name = "xdp_unchecked") => new Asm()
        .Add(
            Instruction.Load(MemSize.W, Reg.R2, Reg.R1, Data),
            Instruction.Load(MemSize.B, Reg.R0, Reg.R2, 12),
            Instruction.Exit())
        .Program(name);

    /// <summary><paramref name="padding"/> no-op moves, then an unchecked packet read: a verifier log far beyond 64 KiB.</summary>
    public static BpfProgram LongThenUnchecked(int padding, string name = "xdp_long")
    {
        var asm = new Asm();
        for (var i = 0; i < padding; i++)
            asm.Add(Instruction.Mov64(Reg.R0, i));
        return asm.Add(
                Instruction.Load(MemSize.W, Reg.R2, Reg.R1, Data),
                Instruction.Load(MemSize.B, Reg.R0, Reg.R2, 12),
                Instruction.Exit())
            .Program(name);
    }

    public static BpfMap PerCpuCounter(string name = "Counter", uint entries = 1) =>
        new(name, BpfMapType.PerCpuArray, KeySize: 4, ValueSize: 8, MaxEntries: entries);

    /// <summary>An IPv4/UDP-looking Ethernet frame of <paramref name="length"/> bytes (EtherType 0x0800).</summary>
    public static byte[] Ipv4Frame(int length = 64)
    {
        var frame = new byte[length];
        for (var i = 0; i < 6; i++)
        {
            frame[i] = 0x02;            // destination MAC 02:02:…
            frame[6 + i] = (byte)(0x10 + i);
        }
        frame[12] = 0x08;
        frame[13] = 0x00;
        for (var i = 14; i < length; i++)
            frame[i] = (byte)i;
        return frame;
    }

    /// <summary>An IPv6-looking frame (EtherType 0x86dd, so byte 12 is 0x86).</summary>
    public static byte[] Ipv6Frame(int length = 64)
    {
        var frame = Ipv4Frame(length);
        frame[12] = 0x86;
        frame[13] = 0xdd;
        return frame;
    }
}

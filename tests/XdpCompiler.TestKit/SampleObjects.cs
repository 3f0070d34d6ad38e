using System.Collections.Immutable;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Objects;

namespace XdpCompiler.TestKit;

/// <summary>Hand-built objects in the shape the backend produces, for the ELF writer, reader and loader tests.</summary>
public static class SampleObjects
{
    /// <summary>
    /// An XDP program that counts packets in a per-CPU array and passes them:
    /// <c>key = 0; v = lookup(&amp;counters, &amp;key); if (v) lock *v += 1; return XDP_PASS;</c>
    /// </summary>
    /// <param name="lines">The program's line info; by default one line per statement of the C# above.</param>
    public static BpfObject Counter(ImmutableArray<BpfLineInfo>? lines = null)
    {
        var (load, loadHigh) = Instruction.LoadImm64(Reg.R1, 0);
        var instructions = ImmutableArray.Create(
            Instruction.StoreImm(MemSize.W, Reg.R10, -4, 0),         // 0: *(u32 *)(r10 - 4) = 0
            Instruction.Mov64Reg(Reg.R2, Reg.R10),                    // 1: r2 = r10
            Instruction.Alu64(AluOp.Add, Reg.R2, -4),                 // 2: r2 += -4
            load, loadHigh,                                           // 3-4: r1 = counters ll
            Instruction.CallHelper(1),                                // 5: call bpf_map_lookup_elem
            Instruction.Jump(JmpOp.Jeq, Reg.R0, 0, 2),                // 6: if r0 == 0 goto +2
            Instruction.Mov64(Reg.R1, 1),                             // 7: r1 = 1
            Instruction.Atomic(MemSize.DW, AtomicOp.Add, Reg.R0, 0, Reg.R1), // 8: lock *(u64 *)(r0 + 0) += r1
            Instruction.Mov64(Reg.R0, 2),                             // 9: r0 = XDP_PASS
            Instruction.Exit());                                      // 10: exit
        var program = new BpfProgram(
            "xdp_count", "xdp", instructions,
            ImmutableArray.Create(new BpfRelocation(3, "counters", BpfRelocationKind.Map)),
            lines ?? ImmutableArray.Create(
                new BpfLineInfo(0, "Counter.cs", 10, 9, "uint key = 0;"),
                new BpfLineInfo(3, "Counter.cs", 11, 9, "ulong* value = Counters.Lookup(key);"),
                new BpfLineInfo(6, "Counter.cs", 12, 9, "if (value != null) Interlocked.Increment(ref *value);"),
                new BpfLineInfo(9, "Counter.cs", 13, 9, "return XdpAction.Pass;")));
        var map = new BpfMap("counters", BpfMapType.PerCpuArray, KeySize: 4, ValueSize: 8, MaxEntries: 4);
        return new BpfObject("counter", "GPL", ImmutableArray.Create(program), ImmutableArray.Create(map), Empty);
    }

    public static BtfTypeTable Empty { get; } = new(ImmutableArray<BtfType>.Empty);

    /// <summary>
    /// Global data in all three sections: <c>.data</c> holds <c>u64 counter = 0</c> and <c>u64 step = 1</c>,
    /// <c>.rodata</c> <c>u16 blocked = <paramref name="blocked"/></c> (typed by BTF id 1), <c>.bss</c> <c>u64 drops</c>.
    /// <c>counter += step; if (blocked == 0) return XDP_PASS; lock drops += 1; return XDP_DROP;</c> — step is reached
    /// as <c>counter + 8</c>, through the instruction's own imm.
    /// </summary>
    public static BpfObject Globals(ushort blocked = 0)
    {
        var (counter, counterHigh) = Instruction.LoadImm64(Reg.R1, 0);
        var (step, stepHigh) = Instruction.LoadImm64(Reg.R3, 8);
        var (rodata, rodataHigh) = Instruction.LoadImm64(Reg.R1, 0);
        var (bss, bssHigh) = Instruction.LoadImm64(Reg.R1, 0);
        var instructions = ImmutableArray.Create(
            counter, counterHigh,                                     // 0-1: r1 = counter ll
            Instruction.Load(MemSize.DW, Reg.R2, Reg.R1, 0),          // 2: r2 = *(u64 *)(r1 + 0)
            step, stepHigh,                                           // 3-4: r3 = counter + 8 ll (step)
            Instruction.Load(MemSize.DW, Reg.R3, Reg.R3, 0),          // 5: r3 = *(u64 *)(r3 + 0)
            Instruction.Alu64Reg(AluOp.Add, Reg.R2, Reg.R3),          // 6: r2 += r3
            Instruction.Store(MemSize.DW, Reg.R1, 0, Reg.R2),         // 7: *(u64 *)(r1 + 0) = r2
            rodata, rodataHigh,                                       // 8-9: r1 = blocked ll
            Instruction.Load(MemSize.H, Reg.R1, Reg.R1, 0),           // 10: r1 = *(u16 *)(r1 + 0)
            Instruction.Mov64(Reg.R0, 2),                             // 11: r0 = XDP_PASS
            Instruction.Jump(JmpOp.Jeq, Reg.R1, 0, 4),                // 12: if r1 == 0 goto +4
            bss, bssHigh,                                             // 13-14: r1 = drops ll
            Instruction.Mov64(Reg.R0, 1),                             // 15: r0 = XDP_DROP
            Instruction.Atomic(MemSize.DW, AtomicOp.Add, Reg.R1, 0, Reg.R0), // 16: lock *(u64 *)(r1 + 0) += r0
            Instruction.Exit());                                      // 17: exit
        var program = new BpfProgram(
            "xdp_globals", "xdp", instructions,
            ImmutableArray.Create(
                new BpfRelocation(0, "counter", BpfRelocationKind.GlobalData),
                new BpfRelocation(3, "counter", BpfRelocationKind.GlobalData),
                new BpfRelocation(8, "blocked", BpfRelocationKind.GlobalData),
                new BpfRelocation(13, "drops", BpfRelocationKind.GlobalData)),
            ImmutableArray.Create(new BpfLineInfo(0, "Globals.cs", 5, 9, "Counter += Step;")));
        byte[] data = [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
        var types = new BtfTypeTable(ImmutableArray.Create<BtfType>(new BtfInt("unsigned short", 2, BtfIntEncoding.None, 16)));
        return new BpfObject("globals", "GPL", ImmutableArray.Create(program), ImmutableArray<BpfMap>.Empty, types)
        {
            DataSections = ImmutableArray.Create(
                new BpfDataSection(".data", data.ToImmutableArray(), ImmutableArray.Create(
                    new BpfGlobalVariable("counter", 0, 8), new BpfGlobalVariable("step", 8, 8))),
                new BpfDataSection(".rodata", ImmutableArray.Create((byte)blocked, (byte)(blocked >> 8)), ImmutableArray.Create(
                    new BpfGlobalVariable("blocked", 0, 2, Type: 1))),
                new BpfDataSection(".bss", new byte[8].ToImmutableArray(), ImmutableArray.Create(
                    new BpfGlobalVariable("drops", 0, 8)))),
        };
    }

    /// <summary>"r0 = XDP_PASS; exit" under the given name and section, without line info (the writer supplies one).</summary>
    public static BpfProgram Pass(string name, string section = "xdp") => new(
        name, section, ImmutableArray.Create(Instruction.Mov64(Reg.R0, 2), Instruction.Exit()),
        ImmutableArray<BpfRelocation>.Empty, ImmutableArray<BpfLineInfo>.Empty);

    /// <summary><see cref="Pass"/> with a source line at its start, for tests that read the line back.</summary>
    public static BpfProgram PassWithLine(string name, string section = "xdp") =>
        Pass(name, section) with { Lines = ImmutableArray.Create(new BpfLineInfo(0, "Pass.cs", 1, 1, "return XdpAction.Pass;")) };

    /// <summary>An object of just these programs: no maps, no types of its own.</summary>
    public static BpfObject WithPrograms(params BpfProgram[] programs) =>
        new("test", "GPL", programs.ToImmutableArray(), ImmutableArray<BpfMap>.Empty, Empty);
}

using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Objects;
using XdpCompiler.TestKit;
using Xunit;
using static XdpCompiler.Runtime.Tests.TestPrograms;

namespace XdpCompiler.Runtime.Tests;

/// <summary>BPF_PROG_TEST_RUN with an input context: ingress interface, receive queue and metadata, and the context back.</summary>
public sealed class TestRunContextTests
{
    /// <summary>
    /// Writes ctx->ingress_ifindex into packet bytes 0-3 and ctx->rx_queue_index into byte 4; when there is metadata,
    /// copies its first byte into packet byte 5 and overwrites it with 0x77. Returns XDP_PASS.
    /// </summary>
    private static BpfProgram ReportContext() => new Asm()
        .Add(
            Instruction.Load(MemSize.W, Reg.R6, Reg.R1, Data),
            Instruction.Load(MemSize.W, Reg.R7, Reg.R1, DataEnd),
            Instruction.Load(MemSize.W, Reg.R8, Reg.R1, 8),       // data_meta
            Instruction.Load(MemSize.W, Reg.R2, Reg.R1, 12),      // ingress_ifindex
            Instruction.Load(MemSize.W, Reg.R3, Reg.R1, 16),      // rx_queue_index
            Instruction.Mov64Reg(Reg.R4, Reg.R6),
            Instruction.Alu64(AluOp.Add, Reg.R4, 6),
            Instruction.JumpReg(JmpOp.Jgt, Reg.R4, Reg.R7, 8),
            Instruction.Store(MemSize.W, Reg.R6, 0, Reg.R2),
            Instruction.Store(MemSize.B, Reg.R6, 4, Reg.R3),
            Instruction.Mov64Reg(Reg.R5, Reg.R8),
            Instruction.Alu64(AluOp.Add, Reg.R5, 1),
            Instruction.JumpReg(JmpOp.Jgt, Reg.R5, Reg.R6, 3),
            Instruction.Load(MemSize.B, Reg.R0, Reg.R8, 0),
            Instruction.Store(MemSize.B, Reg.R6, 5, Reg.R0),
            Instruction.StoreImm(MemSize.B, Reg.R8, 0, 0x77),
            Instruction.Mov64(Reg.R0, XdpPass),
            Instruction.Exit())
        .Program("xdp_report_ctx");

    [KernelFact]
    public void TheProgramSeesTheIngressInterfaceQueueAndMetadata()
    {
        using var ns = Netns.Create();
        using var obj = BpfObjectLoader.Load(Object("ctx", ReportContext()));
        var program = obj.Program("xdp_report_ctx");
        var index = NetworkInterfaces.IndexOf(ns.HostInterface);

        var result = program.TestRun(Ipv4Frame(), new XdpTestContext
        {
            IngressInterfaceIndex = index,
            Metadata = new byte[] { 0x11, 0x22, 0x33, 0x44 },
        });

        Assert.Equal(XdpAction.Pass, result.Action);
        Assert.Equal(4, result.MetadataLength);
        Assert.Equal(new byte[] { 0x77, 0x22, 0x33, 0x44 }, result.Packet[..4]);   // the metadata, as the program left it
        var packet = result.Packet[4..];
        Assert.Equal(index, BitConverter.ToInt32(packet, 0));
        Assert.Equal(0, packet[4]);
        Assert.Equal(0x11, packet[5]);
        Assert.Equal(Ipv4Frame()[6..], packet[6..]);
    }

    [KernelFact]
    public void WithoutAnInterfaceTheRunIsOnLoopbackAndWithoutMetadataThereIsNone()
    {
        using var obj = BpfObjectLoader.Load(Object("ctx", ReportContext()));

        var result = obj.Program("xdp_report_ctx").TestRun(Ipv4Frame(), new XdpTestContext());

        Assert.Equal(0, result.MetadataLength);
        Assert.Equal(1, BitConverter.ToInt32(result.Packet, 0));          // lo
        Assert.Equal(Ipv4Frame()[5], result.Packet[5]);                   // no metadata byte copied
    }

    [KernelFact]
    public void ImpossibleContextsAreNamed()
    {
        using var ns = Netns.Create();
        using var obj = BpfObjectLoader.Load(Object("ctx", ReportContext()));
        var program = obj.Program("xdp_report_ctx");

        var queue = Assert.Throws<BpfException>(() => program.TestRun(Ipv4Frame(), new XdpTestContext
        {
            IngressInterfaceIndex = NetworkInterfaces.IndexOf(ns.HostInterface),
            RxQueueIndex = 5,
        }));
        Assert.Contains("receive queue 5", queue.Message);

        var missing = Assert.Throws<BpfException>(() => program.TestRun(Ipv4Frame(), new XdpTestContext { IngressInterfaceIndex = 999_999 }));
        Assert.Contains("No interface has index 999999", missing.Message);

        Assert.Throws<ArgumentException>(() => program.TestRun(Ipv4Frame(), new XdpTestContext { Metadata = new byte[3] }));
        Assert.Throws<ArgumentException>(() => program.TestRun(Ipv4Frame(), new XdpTestContext { Metadata = new byte[36] }));
    }

    [KernelFact]
    public void PinsComeOffWithUnpin()
    {
        using var bpffs = new BpfFsDirectory();
        using var obj = BpfObjectLoader.Load(Object("ctx", ReportContext(), PerCpuCounter()));
        var program = obj.Program("xdp_report_ctx");
        var map = obj.Map("Counter");
        program.Pin(bpffs.Combine("prog"));
        map.Pin(bpffs.Combine("map"));

        program.Unpin();
        map.Unpin();

        Assert.False(File.Exists(bpffs.Combine("prog")));
        Assert.False(File.Exists(bpffs.Combine("map")));
        Assert.Null(program.PinnedPath);
        Assert.Throws<InvalidOperationException>(() => map.Unpin());
        Assert.Equal(XdpAction.Pass, program.TestRun(Ipv4Frame()).Action);   // still loaded: this object holds it
    }
}

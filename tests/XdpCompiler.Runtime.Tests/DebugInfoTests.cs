using Xunit;
using System.Collections.Immutable;
using XdpCompiler.Core.Objects;
using XdpCompiler.TestKit;

namespace XdpCompiler.Runtime.Tests;

public sealed class DebugInfoTests
{
    [KernelFact]
    public void LineInfo_ReachesTheKernel()
    {
        var program = TestPrograms.DropIfByte12Is8("xdp_lines") with
        {
            Lines =
            [
                new BpfLineInfo(0, "/src/Filter.cs", 10, 9, "byte* data = ctx.Data, end = ctx.DataEnd;"),
                new BpfLineInfo(2, "/src/Filter.cs", 11, 9, "if (data + 13 > end) return XdpAction.Pass;"),
                new BpfLineInfo(5, "/src/Filter.cs", 12, 9, "if (data[12] == 8) return XdpAction.Drop;"),
                new BpfLineInfo(9, "/src/Filter.cs", 13, 9, "return XdpAction.Pass;"),
            ],
        };
        var obj = TestPrograms.Object("lines", [program], [], BtfSamples.XdpFunction("xdp_lines"));

        using var loaded = BpfObjectLoader.Load(obj);

        Assert.Empty(loaded.Warnings);
        var dump = Netns.Run("bpftool", "prog", "dump", "xlated", "id", loaded.Program("xdp_lines").Id.ToString(), "linum");
        Assert.Contains("if (data[12] == 8) return XdpAction.Drop; [file:/src/Filter.cs line_num:12", dump);
        Assert.Equal(XdpAction.Drop, loaded.Program("xdp_lines").TestRun(TestPrograms.Ipv4Frame()).Action);
    }

    [KernelFact]
    public void VerifierLog_SpeaksSource_WhenLinesAreLoaded()
    {
        var program = TestPrograms.UncheckedPacketRead("xdp_bad_lines") with
        {
            Lines =
            [
                new BpfLineInfo(0, "/src/Bad.cs", 20, 5, "byte* data = ctx.Data;"),
                new BpfLineInfo(1, "/src/Bad.cs", 21, 5, "return data[12];"),
            ],
        };
        var obj = TestPrograms.Object("badlines", [program], [], BtfSamples.XdpFunction("xdp_bad_lines"));

        var e = Assert.Throws<BpfVerifierException>(() => BpfObjectLoader.Load(obj));

        Assert.Equal(1, e.InstructionIndex);
        Assert.Contains("; return data[12]; @ Bad.cs:21", e.Log);
    }

    [KernelFact]
    public void BadLineInfo_LoadsWithoutIt_AndWarns()
    {
        // The kernel wants the first line info at instruction 0.
        var program = TestPrograms.ReturnDrop("xdp_badinfo") with
        {
            Lines = [new BpfLineInfo(1, "/src/X.cs", 1, 1, "return XdpAction.Drop;")],
        };
        var obj = TestPrograms.Object("badinfo", [program], [], BtfSamples.XdpFunction("xdp_badinfo"));

        using var loaded = BpfObjectLoader.Load(obj);

        var warning = Assert.Single(loaded.Warnings);
        Assert.Contains("func/line info of program xdp_badinfo", warning);
        Assert.NotNull(loaded.Program("xdp_badinfo").DebugInfoWarning);
        Assert.Equal(XdpAction.Drop, loaded.Program("xdp_badinfo").TestRun(TestPrograms.Ipv4Frame()).Action);
    }
}

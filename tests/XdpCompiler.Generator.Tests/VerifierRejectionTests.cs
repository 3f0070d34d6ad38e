using XdpCompiler.Runtime;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Generator.Tests;

/// <summary>
/// Until the build-time verifier exists, a program the kernel refuses gets through the build; the runtime must then
/// show the whole verifier log and point at the C# line the rejected instruction came from.
/// </summary>
public sealed class VerifierRejectionTests
{
    [KernelFact]
    public void UncheckedPacketReadIsRejectedAtItsCSharpLine()
    {
        const string source = """
            using XdpCompiler;

            public static unsafe partial class Unchecked
            {
                [XdpProgram("xdp_unchecked")]
                public static XdpAction Run(XdpContext ctx)
                {
                    byte* data = ctx.Data;
                    if (data[12] == 0x08)
                        return XdpAction.Drop;
                    return XdpAction.Pass;
                }
            }
            """;
        var run = GeneratorHarness.Run(("/src/Unchecked.cs", source));
        Assert.Empty(run.Diagnostics);

        var error = Assert.Throws<BpfVerifierException>(() => BpfObjectLoader.Load(run.Objects["Unchecked"], "Unchecked"));

        Assert.Contains("invalid access to packet", error.Log, StringComparison.Ordinal);
        Assert.NotNull(error.SourceLine);
        Assert.Equal("/src/Unchecked.cs", error.SourceLine!.File);
        Assert.Equal(9, error.SourceLine.Line);
        Assert.Equal("if (data[12] == 0x08)", error.SourceLine.LineText);
        Assert.StartsWith("/src/Unchecked.cs(9,", error.Message, StringComparison.Ordinal);
        Assert.Contains("ctx.DataEnd", error.Explanation, StringComparison.Ordinal);
        Assert.Contains(error.Explanation!, error.Message, StringComparison.Ordinal);
    }

    [KernelFact]
    public void MapValueWithoutNullCheckIsExplained()
    {
        const string source = """
            using XdpCompiler;

            public static unsafe partial class NoNullCheck
            {
                [Map] static readonly HashMap<uint, ulong> Counts = new(maxEntries: 4);

                [XdpProgram("xdp_no_null_check")]
                public static XdpAction Run(XdpContext ctx)
                {
                    ulong* count = Counts.Lookup(0);
                    (*count)++;
                    return XdpAction.Pass;
                }
            }
            """;
        var run = GeneratorHarness.Run(("/src/NoNullCheck.cs", source));
        var error = Assert.Throws<BpfVerifierException>(() => BpfObjectLoader.Load(run.Objects["NoNullCheck"], "NoNullCheck"));
        Assert.Contains("null check", error.Explanation, StringComparison.Ordinal);
        Assert.Equal(11, error.SourceLine!.Line);
    }
}

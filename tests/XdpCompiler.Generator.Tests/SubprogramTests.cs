using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Generator.Tests;

/// <summary>
/// [MethodImpl(NoInlining)] methods become .text functions called with BPF-to-BPF calls (Programs/Subprograms.cs runs
/// them differentially); here: what libbpf makes of them, and the call-graph rules the verifier would enforce.
/// </summary>
public sealed class SubprogramTests
{
    [KernelToolFact("bpftool")]
    public void BpftoolLoadsTheCallsAndShowsTheCalleesCSharpLines()
    {
        using var directory = new TempDirectory();
        using var pins = new BpfFsDirectory();
        var path = directory.File("Subprograms.o");
        File.WriteAllBytes(path, GeneratorHarness.Run(("/src/Subprograms.cs", GeneratorHarness.ProgramSource("Subprograms"))).Objects["Subprograms"]);

        Tools.Run("bpftool", "prog", "loadall", path, pins.Combine("progs"));

        // Two entry points; the .text functions are not programs of their own.
        Assert.Equal(["xdp_subprograms", "xdp_subprograms_again"], Directory.GetFiles(pins.Combine("progs")).Select(Path.GetFileName).Order());
        var dump = Tools.Run("bpftool", "prog", "dump", "xlated", "pinned", Path.Combine(pins.Combine("progs"), "xdp_subprograms"), "linum").Output;
        Assert.Contains("call pc+", dump, StringComparison.Ordinal);
        Assert.Contains("sum = (sum << 3) + data[i] + (sum >> 29);", dump, StringComparison.Ordinal);
        Assert.Contains("Subprograms_Checksum", dump, StringComparison.Ordinal);
    }

    private const string Header = """
        using System.Runtime.CompilerServices;
        using XdpCompiler;

        public struct Pair { public uint A; public uint B; }

        public static unsafe partial class Calls
        {
            [XdpProgram("xdp_calls")]
            public static XdpAction Run(XdpContext ctx)
            {

        """;

    [Theory]
    [InlineData("return (XdpAction)Ping(1);", "static uint Ping(uint n) => n == 0 ? 0 : Pong(n - 1);", "static uint Pong(uint n) => Ping(n);", "XDP0013")]
    [InlineData("return (XdpAction)Six(1, 2, 3, 4, 5, 6);", "static uint Six(uint a, uint b, uint c, uint d, uint e, uint f) => a + f;", "", "XDP0006")]
    [InlineData("var p = Make(); return (XdpAction)p.A;", "static Pair Make() => new Pair { A = 2 };", "", "XDP0001")]
    [InlineData("return (XdpAction)Big(1);", "static uint Big(uint n) { byte* b = stackalloc byte[300]; b[0] = (byte)n; return b[0] + Bigger(n); }", "static uint Bigger(uint n) { byte* b = stackalloc byte[300]; b[1] = (byte)n; return b[1]; }", "XDP0101")]
    public void CallGraphRulesAreDiagnosed(string body, string first, string second, string id)
    {
        var source = Header + body + "\n    }\n\n    [MethodImpl(MethodImplOptions.NoInlining)]\n    " + first +
            (second.Length > 0 ? "\n\n    [MethodImpl(MethodImplOptions.NoInlining)]\n    " + second : "") + "\n}\n";

        var run = GeneratorHarness.Run(("/src/Calls.cs", source));

        Assert.Contains(run.Diagnostics, d => d.Id == id);
        Assert.Empty(run.Objects);
    }

    [Fact]
    public void NineNestedFramesAreTooDeep()
    {
        var functions = string.Concat(Enumerable.Range(1, 8).Select(i =>
            $"\n    [MethodImpl(MethodImplOptions.NoInlining)]\n    static uint F{i}(uint n) => " + (i < 8 ? $"F{i + 1}(n) + 1;" : "n;") + "\n"));
        var run = GeneratorHarness.Run(("/src/Calls.cs", Header + "return (XdpAction)F1(0);\n    }\n" + functions + "}\n"));

        var error = Assert.Single(run.Diagnostics, d => d.Id == "XDP0014");
        Assert.Contains("9 deep", error.GetMessage());
    }

    [Fact]
    public void TailCallsStayInTheProgramItself()
    {
        var run = GeneratorHarness.Run(("/src/Calls.cs", """
            using System.Runtime.CompilerServices;
            using XdpCompiler;

            public static unsafe partial class Calls
            {
                [Map] static readonly ProgramArray Next = new(maxEntries: 2);

                [XdpProgram("xdp_calls")]
                public static XdpAction Run(XdpContext ctx) => Jump(ctx);

                [MethodImpl(MethodImplOptions.NoInlining)]
                static XdpAction Jump(XdpContext ctx)
                {
                    return Next.TailCall(ctx, 0, XdpAction.Pass);
                }
            }
            """));

        var error = Assert.Single(run.Diagnostics, d => d.Id == "XDP0001");
        Assert.Contains("tail call", error.GetMessage(), StringComparison.OrdinalIgnoreCase);
        Assert.Empty(run.Objects);
    }
}

using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Xunit;

namespace XdpCompiler.Generator.Tests;

/// <summary>
/// Unsupported C# is reported at the exact span with its catalogue id, and never leaves a silently missing object.
/// Expected diagnostics are marked inline as <c>{|XDP0002:new object()|}</c>.
/// </summary>
public sealed class DiagnosticTests
{
    private const string Header = """
        using System;
        using System.Threading;
        using XdpCompiler;

        public static unsafe partial class Bad
        {
            [Map] static readonly PerCpuArray<ulong> Counts = new(maxEntries: 4);

            [XdpProgram("xdp_bad")]
            public static XdpAction Run(XdpContext ctx)
            {

        """;

    private const string Footer = """

                return XdpAction.Pass;
            }

            static int Fact(int n) => n <= 1 ? 1 : n * Fact(n - 1);

            static void Twice(ref int v) => v *= 2;
        }

        public struct Bad2
        {
            public int Instance() => 1;
        }
        """;

    [Theory]
    [InlineData("object o = {|XDP0002:new object()|};")]
    [InlineData("var a = {|XDP0002:new byte[4]|};")]
    [InlineData("string s = {|XDP0003:\"hello\"|};")]
    [InlineData("{|XDP0004:try { } finally { }|}")]
    [InlineData("if (ctx.RxQueueIndex == 1) {|XDP0004:throw new InvalidOperationException();|}")]
    [InlineData("{|XDP0001:foreach (var b in stackalloc byte[2]) { }|}")]
    [InlineData("double d = {|XDP0011:1.5|};")]
    [InlineData("uint q = ctx.RxQueueIndex; uint r = q / {|XDP0001:q|};")]
    [InlineData("int s = (int)ctx.RxQueueIndex; int t = s / {|XDP0001:-1|};")]
    [InlineData("long s = ctx.RxQueueIndex; long t = s % {|XDP0001:s|};")]
    [InlineData("uint q = ctx.RxQueueIndex; uint r = 0; if (q > 5) r = 100 / ({|XDP0001:q - 6|});")]
    [InlineData("uint q = ctx.RxQueueIndex; uint d = q; if (q != 0) d = 100 / {|XDP0001:d|};")]
    [InlineData("int x = (byte)ctx.RxQueueIndex; int d = (int)ctx.RxQueueIndex; if (d != 0) x = x / {|XDP0001:d|};")]
    [InlineData("int x = (int)ctx.RxQueueIndex; int d = (byte)ctx.IngressIfindex; if (d > 0) x = x / {|XDP0001:d|};")]
    [InlineData("int x = (byte)ctx.RxQueueIndex; int d = (int)ctx.IngressIfindex; if (d == -5) x = 100 / {|XDP0001:d|};")]
    [InlineData("int x = (byte)ctx.RxQueueIndex; long d = (int)ctx.IngressIfindex; if (d != -5) return XdpAction.Tx; x = (int)(100 % {|XDP0001:d|});")]
    [InlineData("int? n = {|XDP0007:(int)ctx.RxQueueIndex|};")]
    [InlineData("var t = {|XDP0001:(ctx.RxQueueIndex, 1)|};")]
    [InlineData("Span<byte> s = {|XDP0001:stackalloc byte[4]|};")]
    [InlineData("var x = {|XDP0006:Math.Abs((int)ctx.RxQueueIndex)|};")]
    [InlineData("int q = (int)ctx.RxQueueIndex; var x = {|XDP0001:Math.Clamp(5, q, 9)|};")]
    [InlineData("var x = {|XDP0001:Math.Clamp((int)ctx.RxQueueIndex, 9, 5)|};")]
    [InlineData("Func<int> f = {|XDP0001:() => 1|};")]
    [InlineData("uint q = ctx.RxQueueIndex; uint r = checked({|XDP0001:q + 4000000000u|});")]
    [InlineData("uint e = {|XDP0001:ctx.EgressIfindex|};")]
    [InlineData("var x = {|XDP0006:new Bad2().Instance()|};")]
    [InlineData("byte* d = ctx.Data; var x = {|XDP0006:System.Runtime.InteropServices.MemoryMarshal.Read<int>(new ReadOnlySpan<byte>(d, 4))|};")]
    [InlineData("int v = 1; uint u = {|XDP0006:System.Runtime.CompilerServices.Unsafe.As<int, uint>(ref v)|};")]
    [InlineData("byte* d = stackalloc byte[8]; System.Runtime.CompilerServices.Unsafe.InitBlock(d, 0, {|XDP0001:ctx.RxQueueIndex|});")]
    [InlineData("byte* d = stackalloc byte[8]; System.Runtime.CompilerServices.Unsafe.InitBlock(d, {|XDP0001:(byte)ctx.RxQueueIndex|}, 8);")]
    [InlineData("byte* d = stackalloc byte[8]; System.Runtime.CompilerServices.Unsafe.CopyBlock(d, d, {|XDP0001:600|});")]
    public void UnsupportedConstructIsReportedAtItsSpan(string body)
    {
        var (source, expected) = Parse(Header + body + Footer);
        var run = GeneratorHarness.Run(("/src/Bad.cs", source));
        var actual = run.Diagnostics.Where(d => d.Id.StartsWith("XDP", StringComparison.Ordinal))
            .Select(d => (d.Id, d.Location.SourceSpan.Start, d.Location.SourceSpan.Length)).ToList();
        Assert.Equal(expected, actual);
        Assert.All(run.Diagnostics, d => Assert.Equal(DiagnosticSeverity.Error, d.Severity));
        Assert.Empty(run.Objects);
    }

    [Fact]
    public void DivisionInAnOutOfLineMethodIsCheckedToo()
    {
        var (source, expected) = Parse("""
            using System.Runtime.CompilerServices;
            using XdpCompiler;

            public static partial class Sub
            {
                [XdpProgram("xdp_sub")]
                public static XdpAction Run(XdpContext ctx) => Div(ctx.RxQueueIndex, 3) + Safe(ctx.RxQueueIndex, ctx.IngressIfindex) > 9 ? XdpAction.Drop : XdpAction.Pass;

                [MethodImpl(MethodImplOptions.NoInlining)]
                static uint Div(uint a, uint b) => a / {|XDP0001:b|};

                [MethodImpl(MethodImplOptions.NoInlining)]
                static uint Safe(uint a, uint b) => b == 0 ? 0 : a % b;
            }
            """);
        var run = GeneratorHarness.Run(("/src/Sub.cs", source));
        Assert.Equal(expected, run.Diagnostics.Where(d => d.Id.StartsWith("XDP", StringComparison.Ordinal))
            .Select(d => (d.Id, d.Location.SourceSpan.Start, d.Location.SourceSpan.Length)).ToList());
    }

    [Theory]
    [InlineData("uint q = ctx.RxQueueIndex; uint r = 0; if (q != 0) r = 100 / q; return r > 3 ? XdpAction.Drop : XdpAction.Pass;")]
    [InlineData("uint q = ctx.RxQueueIndex; if (q == 0) return XdpAction.Pass; return 100 % q > 3 ? XdpAction.Drop : XdpAction.Pass;")]
    [InlineData("uint q = ctx.RxQueueIndex; return 100 / (q | 1) > 3 ? XdpAction.Drop : XdpAction.Pass;")]
    [InlineData("ulong q = (ulong)(byte)ctx.RxQueueIndex + 1; return 1000 / q > 3 ? XdpAction.Drop : XdpAction.Pass;")]
    [InlineData("int x = (byte)ctx.RxQueueIndex; int d = (byte)(ctx.RxQueueIndex >> 8); if (d > 0) return x / d > 3 ? XdpAction.Drop : XdpAction.Pass; return XdpAction.Tx;")]
    [InlineData("int x = (byte)ctx.RxQueueIndex; int d = (int)ctx.RxQueueIndex; if (d >= 1) return x % d > 3 ? XdpAction.Drop : XdpAction.Pass; return XdpAction.Tx;")]
    [InlineData("long x = (ushort)ctx.RxQueueIndex; return x / ((byte)ctx.IngressIfindex + 1L) > 3 ? XdpAction.Drop : XdpAction.Pass;")]
    [InlineData("uint q = ctx.RxQueueIndex; uint r = q > 7 ? 100 / q : 0; return r > 3 ? XdpAction.Drop : XdpAction.Pass;")]
    public void DivisionByADivisorProvedNonZeroCompiles(string body)
    {
        var source = $$"""
            using XdpCompiler;
            public static partial class Divide
            {
                [XdpProgram("xdp_divide")]
                public static XdpAction Run(XdpContext ctx)
                {
                    {{body}}
                }
            }
            """;
        var run = GeneratorHarness.Run(("/src/Divide.cs", source));
        Assert.Empty(run.Diagnostics);
        Assert.Single(run.Objects);
    }

    [Fact]
    public void CodeThatDoesNotBindGetsOnlyTheCompilersErrors()
    {
        var run = GeneratorHarness.Run(("/src/Bad.cs", Header + "int x = Undefined(); var y = x % 3 switch { 0 => XdpAction.Drop, _ => XdpAction.Pass } % 2;" + Footer));
        Assert.Empty(run.Diagnostics.Where(d => d.Id.StartsWith("XDP", StringComparison.Ordinal)));
        Assert.Contains(run.Output.GetDiagnostics(), d => d.Id == "CS0103");
    }

    [Fact]
    public void RecursionIsReportedWhereTheCycleCloses()
    {
        var source = Header + "int f = Fact(3);" + Footer;
        var run = GeneratorHarness.Run(("/src/Bad.cs", source));
        var diagnostic = Assert.Single(run.Diagnostics);
        Assert.Equal("XDP0013", diagnostic.Id);
        Assert.Equal("Fact(n - 1)", source.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));
        Assert.Empty(run.Objects);
    }

    [Fact]
    public void EveryProblemInAMethodIsReportedInOnePass()
    {
        var (source, expected) = Parse(Header + "string s = {|XDP0003:\"a\"|};\nfloat f = {|XDP0011:2|};\nobject o = {|XDP0002:new object()|};" + Footer);
        var run = GeneratorHarness.Run(("/src/Bad.cs", source));
        Assert.Equal(expected, run.Diagnostics.Select(d => (d.Id, d.Location.SourceSpan.Start, d.Location.SourceSpan.Length)).ToList());
    }

    [Theory]
    [InlineData("public static XdpAction {|XDP0005:Run|}(XdpContext ctx, int extra) => XdpAction.Pass;")]
    [InlineData("public static int {|XDP0005:Run|}(XdpContext ctx) => 2;")]
    [InlineData("public XdpAction {|XDP0005:Run|}(XdpContext ctx) => XdpAction.Pass;")]
    public void InvalidSignature(string method)
    {
        var (source, expected) = Parse($$"""
            using XdpCompiler;
            public partial class Sig
            {
                [XdpProgram("xdp_sig")]
                {{method}}
            }
            """);
        var run = GeneratorHarness.Run(("/src/Sig.cs", source));
        var ids = run.Diagnostics.Select(d => (d.Id, d.Location.SourceSpan.Start, d.Location.SourceSpan.Length)).ToList();
        Assert.Contains(expected.Single(), ids);
        Assert.Empty(run.Objects);
    }

    [Theory]
    [InlineData("xdp/accounting")]
    [InlineData("xdp_fast")]
    [InlineData("classifier")]
    public void SectionsLibbpfDoesNotLoadAreRejectedAtTheAttribute(string section)
    {
        var (source, expected) = Parse($$"""
            using XdpCompiler;
            public static partial class Sections
            {
                [{|XDP0016:XdpProgram("xdp_sec", Section = "{{section}}")|}]
                public static XdpAction Run(XdpContext ctx) => XdpAction.Pass;

                [XdpProgram("xdp_frags", Section = "xdp.frags/devmap")]
                public static XdpAction Frags(XdpContext ctx) => XdpAction.Pass;
            }
            """);
        var run = GeneratorHarness.Run(("/src/Sections.cs", source));
        Assert.Equal(expected, run.Diagnostics.Select(d => (d.Id, d.Location.SourceSpan.Start, d.Location.SourceSpan.Length)).ToList());
        Assert.Contains(section, run.Diagnostics.Single().GetMessage());
        Assert.Empty(run.Objects);
    }

    [Fact]
    public void ClassMustBeStaticPartial()
    {
        var (source, expected) = Parse("""
            using XdpCompiler;
            public static class {|XDP0012:NotPartial|}
            {
                [XdpProgram("xdp_np")]
                public static XdpAction Run(XdpContext ctx) => XdpAction.Pass;
            }
            """);
        var run = GeneratorHarness.Run(("/src/NotPartial.cs", source));
        Assert.Equal(expected, run.Diagnostics.Select(d => (d.Id, d.Location.SourceSpan.Start, d.Location.SourceSpan.Length)).ToList());
        Assert.Empty(run.Objects);
    }

    [Theory]
    [InlineData("[Map] static PerCpuArray<ulong> {|XDP0008:NotReadOnly|} = new(maxEntries: 1);")]
    [InlineData("[Map] static readonly PerCpuArray<ulong> {|XDP0008:NoEntries|} = new(maxEntries: 0);")]
    [InlineData("[Map] static readonly int {|XDP0008:NotAMap|} = 3;")]
    [InlineData("[Map] static readonly RingBuffer Ring = new({|XDP0008:maxEntries: 6000|});")]
    [InlineData("[Map] static readonly RingBuffer Ring = new({|XDP0008:maxEntries: 2048|});")]
    [InlineData("[Map] static readonly LpmTrie<ulong, uint> {|XDP0008:NotAStructKey|} = new(maxEntries: 4);")]
    [InlineData("[Map] static readonly LpmTrie<Bad2Key, uint> {|XDP0008:NoData|} = new(maxEntries: 4);")]
    [InlineData("[Map] static readonly ProgramArray Jumps = new(maxEntries: 2) { [{|XDP0008:2|}] = Run };")]
    [InlineData("[Map] static readonly ProgramArray Jumps = new(maxEntries: 2) { [0] = {|XDP0008:NotAProgram|} };")]
    [InlineData("[Map] static readonly HashMap<uint, uint> Plain = new(maxEntries: 2) {|XDP0008:{ }|};")]
    public void InvalidMap(string field)
    {
        var (source, expected) = Parse($$"""
            using XdpCompiler;
            public static partial class Maps
            {
                {{field}}

                [XdpProgram("xdp_maps")]
                public static XdpAction Run(XdpContext ctx) => XdpAction.Pass;

                static XdpAction NotAProgram(XdpContext ctx) => XdpAction.Pass;
            }

            public struct Bad2Key
            {
                public uint PrefixLength;
            }
            """);
        var run = GeneratorHarness.Run(("/src/Maps.cs", source));
        Assert.Equal(expected, run.Diagnostics.Select(d => (d.Id, d.Location.SourceSpan.Start, d.Location.SourceSpan.Length)).ToList());
    }

    /// <summary>A tail call never returns, so it may only be the whole value of a return in the program method itself.</summary>
    [Theory]
    [InlineData("var a = {|XDP0001:Jumps.TailCall(ctx, 0, XdpAction.Pass)|}; return a;")]
    [InlineData("return ctx.RxQueueIndex == 0 ? {|XDP0001:Jumps.TailCall(ctx, 0, XdpAction.Pass)|} : XdpAction.Drop;")]
    [InlineData("return Forward(ctx);")]
    public void TailCallOutsideTheProgramsReturn(string body)
    {
        var (source, expected) = Parse($$"""
            using XdpCompiler;
            public static partial class Tails
            {
                [Map] static readonly ProgramArray Jumps = new(maxEntries: 2) { [1] = Run };

                [XdpProgram("xdp_tails")]
                public static XdpAction Run(XdpContext ctx)
                {
                    {{body}}
                }

                static XdpAction Forward(XdpContext ctx) => {|XDP0001:Jumps.TailCall(ctx, 1, XdpAction.Pass)|};
            }
            """);
        var run = GeneratorHarness.Run(("/src/Tails.cs", source));
        var actual = run.Diagnostics.Select(d => (d.Id, d.Location.SourceSpan.Start, d.Location.SourceSpan.Length)).ToList();
        // The helper's span counts only when the program calls it.
        var forwardSpan = expected.Last();
        if (!body.Contains("Forward", StringComparison.Ordinal))
            expected.Remove(forwardSpan);
        Assert.Equal(expected, actual);
        Assert.Empty(run.Objects);
    }

    [Fact]
    public void DiagnosticCarriesLineAndFileForTheBuildOutput()
    {
        var run = GeneratorHarness.Run(("/src/Bad.cs", Header + "object o = new object();" + Footer));
        var diagnostic = Assert.Single(run.Diagnostics);
        var span = diagnostic.Location.GetLineSpan();
        Assert.Equal("/src/Bad.cs", span.Path);
        Assert.Equal(11, span.StartLinePosition.Line);
        Assert.Contains("new object()", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    /// <summary>Strips <c>{|ID:text|}</c> markers, returning the plain source and each marker's id and span.</summary>
    internal static (string Source, List<(string Id, int Start, int Length)> Expected) Parse(string marked)
    {
        var expected = new List<(string, int, int)>();
        var source = new System.Text.StringBuilder();
        var pattern = new Regex(@"\{\|(XDP\d{4}):(.*?)\|\}", RegexOptions.Singleline);
        var last = 0;
        foreach (Match match in pattern.Matches(marked))
        {
            source.Append(marked, last, match.Index - last);
            expected.Add((match.Groups[1].Value, source.Length, match.Groups[2].Length));
            source.Append(match.Groups[2].Value);
            last = match.Index + match.Length;
        }

        source.Append(marked, last, marked.Length - last);
        return (source.ToString(), expected);
    }
}

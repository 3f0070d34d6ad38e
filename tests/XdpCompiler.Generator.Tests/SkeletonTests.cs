using System.Reflection;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Generator.Tests;

/// <summary>The typed skeleton: Filter.Load() gives programs and maps as properties, no strings.</summary>
public sealed class SkeletonTests
{
    [Fact]
    public void WithoutTheRuntimeThereIsNoSkeleton()
    {
        var run = GeneratorHarness.Run(("/src/DropUdpAtomic.cs", GeneratorHarness.ProgramSource("DropUdpAtomic")));
        Assert.DoesNotContain(run.Output.SyntaxTrees, t => t.ToString().Contains("public static Loaded Load(", StringComparison.Ordinal));
    }

    [KernelFact]
    public void LoadedObjectHasTypedProgramsAndMaps()
    {
        var run = GeneratorHarness.RunWithRuntime(("/src/DropUdpAtomic.cs", GeneratorHarness.ProgramSource("DropUdpAtomic")));
        Assert.Empty(run.Output.GetDiagnostics().Where(d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error));
        using var stream = new MemoryStream();
        Assert.True(run.Output.Emit(stream).Success);
        var type = Assembly.Load(stream.ToArray()).GetType("DropUdpAtomic")!;

        using var loaded = (IDisposable)type.GetMethod("Load")!.Invoke(null, new object?[] { null })!;
        var program = (Runtime.LoadedProgram)loaded.GetType().GetProperty("DropUdp")!.GetValue(loaded)!;
        var drops = (Runtime.PerCpuArrayMap<ulong>)loaded.GetType().GetProperty("Drops")!.GetValue(loaded)!;
        var udp = Packets.Ethernet().IPv4("198.18.0.1", "198.18.0.2").Udp(1000, 53).Build();

        Assert.Equal(XdpAction.Drop, program.TestRun(udp, repeat: 4).Action);
        Assert.Equal(4ul, Runtime.PerCpuMapExtensions.Sum(drops, 0));
    }
}

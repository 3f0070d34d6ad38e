using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using XdpCompiler.Generators;
using Xunit;

namespace XdpCompiler.Generator.Tests;

/// <summary>The generator's pipeline caches: an edit outside eBPF code recompiles nothing and re-emits nothing.</summary>
public sealed class IncrementalTests
{
    [Fact]
    public void EditOutsideXdpCodeReusesEveryCachedStep()
    {
        var program = ("/src/DropUdpAtomic.cs", GeneratorHarness.ProgramSource("DropUdpAtomic"));
        var other = ("/src/Other.cs", "public static class Other { public static int Answer() => 41; }");
        var first = GeneratorHarness.Run(program, other);

        var oldTree = first.Input.SyntaxTrees.Single(t => t.FilePath == "/src/Other.cs");
        var newTree = oldTree.WithChangedText(Microsoft.CodeAnalysis.Text.SourceText.From("public static class Other { public static int Answer() => 42; }"));
        var edited = first.Input.ReplaceSyntaxTree(oldTree, newTree);
        var driver = first.Driver.RunGenerators(edited);
        var result = driver.GetRunResult().Results.Single();

        foreach (var name in new[] { TrackingNames.FindPrograms, TrackingNames.CompileProgram, TrackingNames.LinkObject })
        {
            var steps = result.TrackedSteps[name];
            Assert.All(steps.SelectMany(s => s.Outputs), output =>
                Assert.True(output.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{name}: {output.Reason}"));
        }
    }

    [Fact]
    public void EditInsideTheProgramRecompilesIt()
    {
        var source = GeneratorHarness.ProgramSource("DropUdpAtomic");
        var first = GeneratorHarness.Run(("/src/DropUdpAtomic.cs", source));
        var oldTree = first.Input.SyntaxTrees.Single();
        var newTree = oldTree.WithChangedText(Microsoft.CodeAnalysis.Text.SourceText.From(source.Replace("return XdpAction.Drop;", "return XdpAction.Tx;")));
        var driver = first.Driver.RunGenerators(first.Input.ReplaceSyntaxTree(oldTree, newTree));
        var result = driver.GetRunResult().Results.Single();

        Assert.Contains(result.TrackedSteps[TrackingNames.CompileProgram].SelectMany(s => s.Outputs),
            o => o.Reason == IncrementalStepRunReason.Modified);
        var generated = Assert.Single(result.GeneratedSources);
        var before = first.Output.SyntaxTrees.Single(t => t.FilePath.EndsWith(".XdpObject.g.cs", StringComparison.Ordinal)).ToString();
        Assert.NotEqual(before, generated.SourceText.ToString());
    }

    [Fact]
    public void EditToAHelperInAnotherFileRecompilesTheProgramThatCallsIt()
    {
        var program = ("/src/Program.cs", """
            using XdpCompiler;
            public static partial class UsesHelper
            {
                [XdpProgram("xdp_uses_helper")]
                public static XdpAction Run(XdpContext ctx) => Verdicts.Choose(ctx.RxQueueIndex);
            }
            """);
        var helper = ("/src/Verdicts.cs", "using XdpCompiler; static class Verdicts { public static XdpAction Choose(uint q) => q == 1 ? XdpAction.Drop : XdpAction.Pass; }");
        var first = GeneratorHarness.Run(program, helper);
        var before = first.Objects["UsesHelper"];

        var oldTree = first.Input.SyntaxTrees.Single(t => t.FilePath == "/src/Verdicts.cs");
        var newTree = oldTree.WithChangedText(Microsoft.CodeAnalysis.Text.SourceText.From(helper.Item2.Replace("XdpAction.Drop", "XdpAction.Tx")));
        var driver = first.Driver.RunGenerators(first.Input.ReplaceSyntaxTree(oldTree, newTree));
        var result = driver.GetRunResult().Results.Single();

        Assert.Contains(result.TrackedSteps[TrackingNames.CompileProgram].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains(result.TrackedSteps[TrackingNames.LinkObject].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.NotEqual(Convert.ToBase64String(before), ExtractElf(Assert.Single(result.GeneratedSources).SourceText.ToString()));
    }

    private static string ExtractElf(string generated)
    {
        const string marker = "XdpObjectAttribute(\"";
        var start = generated.IndexOf(marker, StringComparison.Ordinal) + marker.Length;
        var dataStart = generated.IndexOf('"', generated.IndexOf('"', start) + 1) + 1;
        return generated.Substring(dataStart, generated.IndexOf('"', dataStart) - dataStart);
    }

    [Fact]
    public void ModelsHoldNoRoslynObjects()
    {
        // A symbol or syntax node inside a cached model would keep whole compilations alive and break caching.
        var forbidden = new[] { typeof(ISymbol), typeof(SyntaxNode), typeof(Compilation), typeof(SemanticModel), typeof(Location) };
        var seen = new HashSet<Type>();
        void Walk(Type type)
        {
            if (!seen.Add(type) || type.IsPrimitive || type == typeof(string) || type.IsEnum)
                return;
            Assert.DoesNotContain(forbidden, f => f.IsAssignableFrom(type));
            foreach (var argument in type.IsGenericType ? type.GetGenericArguments() : Type.EmptyTypes)
                Walk(argument);
            foreach (var property in type.GetProperties())
                Walk(property.PropertyType);
        }

        Walk(typeof(Core.Pipeline.CompiledProgram));
        Assert.Contains(typeof(Core.Frontend.MapSpec), seen);
    }
}

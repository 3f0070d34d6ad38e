using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using XdpCompiler.Generators;

namespace XdpCompiler.Generator.Tests;

/// <summary>Runs the real generator over C# source text, as the compiler does in a build.</summary>
internal static class GeneratorHarness
{
    private static readonly ImmutableArray<MetadataReference> References = LoadReferences();

    public static CSharpCompilation CreateCompilation(params (string Path, string Source)[] files) => CSharpCompilation.Create(
        "XdpTestPrograms",
        files.Select(f => CSharpSyntaxTree.ParseText(f.Source, new CSharpParseOptions(LanguageVersion.Latest), path: f.Path)),
        References,
        new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorRun Run(params (string Path, string Source)[] files)
    {
        var compilation = CreateCompilation(files);
        GeneratorDriver driver = CSharpGeneratorDriver.Create(
            new[] { new XdpGenerator().AsSourceGenerator() },
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        return new GeneratorRun(driver, compilation, output, generatorDiagnostics);
    }

    public static string ProgramSource(string name) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Programs", name + ".cs"));

    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "netstandard.dll" or "mscorlib.dll");
        return platform.Append(typeof(XdpAction).Assembly.Location)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray();
    }
}

internal sealed record GeneratorRun(GeneratorDriver Driver, CSharpCompilation Input, Compilation Output, ImmutableArray<Diagnostic> Diagnostics)
{
    /// <summary>Every diagnostic the build would show: the generator's plus the compiler's on the generated code.</summary>
    public IEnumerable<Diagnostic> AllDiagnostics => Diagnostics.Concat(Output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));

    /// <summary>The ELF objects the generator put into the assembly, by object name.</summary>
    public IReadOnlyDictionary<string, byte[]> Objects
    {
        get
        {
            var result = new Dictionary<string, byte[]>();
            foreach (var tree in Output.SyntaxTrees.Where(t => t.FilePath.EndsWith(".XdpObject.g.cs", StringComparison.Ordinal)))
            {
                var text = tree.ToString();
                var marker = "XdpObjectAttribute(\"";
                var start = text.IndexOf(marker, StringComparison.Ordinal) + marker.Length;
                var nameEnd = text.IndexOf('"', start);
                var dataStart = text.IndexOf('"', nameEnd + 1) + 1;
                var dataEnd = text.IndexOf('"', dataStart);
                result[text.Substring(start, nameEnd - start)] = Convert.FromBase64String(text.Substring(dataStart, dataEnd - dataStart));
            }

            return result;
        }
    }
}

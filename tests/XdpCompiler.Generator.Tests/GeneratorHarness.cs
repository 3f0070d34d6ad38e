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

    public static GeneratorRun Run(params (string Path, string Source)[] files) => RunWith(cpu: null, files);

    /// <summary>Runs the generator on a project that also references the runtime (so it emits the typed skeleton).</summary>
    public static GeneratorRun RunWithRuntime(params (string Path, string Source)[] files) => RunWith(cpu: null, files, withRuntime: true);

    /// <summary>Runs the generator as a build with the MSBuild property XdpCpu set to <paramref name="cpu"/> would.</summary>
    public static GeneratorRun RunWith(string? cpu, params (string Path, string Source)[] files) => RunWith(cpu, files, withRuntime: false);

    private static GeneratorRun RunWith(string? cpu, (string Path, string Source)[] files, bool withRuntime)
    {
        var compilation = CreateCompilation(files);
        if (withRuntime)
        {
            compilation = compilation.AddReferences(
                MetadataReference.CreateFromFile(typeof(XdpCompiler.Runtime.BpfObjectLoader).Assembly.Location),
                MetadataReference.CreateFromFile(typeof(XdpCompiler.Core.Objects.BpfObject).Assembly.Location));
        }

        GeneratorDriver driver = CSharpGeneratorDriver.Create(
            new[] { new XdpGenerator().AsSourceGenerator() },
            optionsProvider: new BuildProperties(cpu is null ? new() : new() { ["build_property.XdpCpu"] = cpu }),
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

/// <summary>MSBuild properties as the compiler hands them to generators (<c>build_property.Name</c>).</summary>
internal sealed class BuildProperties : Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptionsProvider
{
    private readonly Options _options;

    public BuildProperties(Dictionary<string, string> values) => _options = new Options(values);

    public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GlobalOptions => _options;

    public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GetOptions(SyntaxTree tree) => _options;

    public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GetOptions(AdditionalText textFile) => _options;

    private sealed class Options : Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions
    {
        private readonly Dictionary<string, string> _values;

        public Options(Dictionary<string, string> values) => _values = values;

        public override bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value) =>
            _values.TryGetValue(key, out value);
    }
}

using System.Collections.Immutable;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using XdpCompiler.Core.Diagnostics;
using XdpCompiler.Core.Pipeline;

namespace XdpCompiler.Benchmarks;

/// <summary>An ELF object and how long the compiler took (median of the timed runs).</summary>
internal sealed record CompileResult(byte[] Elf, double Milliseconds);

/// <summary>Our compiler, called as the generator calls it: ObjectCompiler.CompileAll on a Roslyn compilation.</summary>
internal static class OurCompiler
{
    private static readonly ImmutableArray<MetadataReference> References = LoadReferences();

    /// <summary>
    /// Runs the compiler over every program, untimed, for at least three rounds and two seconds, so the timed runs
    /// measure tiered-up code (the runtime re-jits hot methods after a delay, in the background) rather than whichever
    /// program happened to come first. Failures are left for <see cref="Compile"/> to report.
    /// </summary>
    public static void WarmUp(IEnumerable<(string Name, string Path)> programs, CompilerOptions options)
    {
        var compilations = programs.Select(p => Create(p.Name, p.Path)).ToList();
        var watch = Stopwatch.StartNew();
        for (var round = 0; round < 3 || watch.Elapsed < TimeSpan.FromSeconds(2); round++)
        {
            foreach (var compilation in compilations)
                ObjectCompiler.CompileAll(compilation, options: options);
        }
    }

    public static CompileResult Compile(string name, string path, int runs, CompilerOptions options)
    {
        var compilation = Create(name, path);
        // Binding the whole compilation once is Roslyn's warm-up, not our compiler's work; it also catches a program
        // that is not valid C# before our compiler is blamed for it.
        var csharpErrors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (csharpErrors.Count > 0)
            throw new BenchmarkException($"{path} does not compile as C#:\n  {string.Join("\n  ", csharpErrors)}");

        var first = Single(name, ObjectCompiler.CompileAll(compilation, options: options));
        var times = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            var watch = Stopwatch.StartNew();
            var again = ObjectCompiler.CompileAll(compilation, options: options);
            times.Add(watch.Elapsed.TotalMilliseconds);
            if (!Single(name, again).AsSpan().SequenceEqual(first))
                throw new BenchmarkException($"Our compiler produced different bytes for {name} on run {run + 2} of the same compilation.");
        }
        return new CompileResult(first, Stats.Median(times));
    }

    private static CSharpCompilation Create(string name, string path)
    {
        var tree = CSharpSyntaxTree.ParseText(File.ReadAllText(path), new CSharpParseOptions(LanguageVersion.Latest), path: path);
        return CSharpCompilation.Create(
            $"XdpBenchmark.{name}", [tree], References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
    }

    private static byte[] Single(string name, ImmutableArray<CompiledObject> objects)
    {
        var obj = objects.FirstOrDefault(o => o.Class.Name == name)
            ?? throw new BenchmarkException($"Our compiler produced no object for class {name} (objects: {string.Join(", ", objects.Select(o => o.Class.Name))}).");
        var errors = obj.Diagnostics.Where(d => d.Severity == XdpSeverity.Error).ToList();
        if (obj.Elf is null || errors.Count > 0)
            throw new BenchmarkException($"Our compiler failed on {name}:\n  {string.Join("\n  ", errors.Select(e => e.ToString()))}");
        return obj.Elf;
    }

    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "netstandard.dll" or "mscorlib.dll");
        return platform.Append(typeof(XdpAction).Assembly.Location)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray();
    }
}

/// <summary>clang-19 as a BPF C programmer runs it; the time is the whole process, as a build sees it.</summary>
internal static class Clang
{
    public const string Executable = "clang-19";

    public static string Flags(string cpu) => $"-O2 -g -target bpf -mcpu={cpu}";

    public static void EnsureInstalled()
    {
        try
        {
            var (exit, output) = Run(["--version"]);
            if (exit != 0)
                throw new BenchmarkException($"'{Executable} --version' exited with {exit}: {output}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new BenchmarkException($"{Executable} is not on PATH ({e.Message}); install clang-19 (apt-get install clang-19).");
        }
    }

    public static CompileResult Compile(string source, string output, int runs, string cpu)
    {
        var args = new List<string>(Flags(cpu).Split(' ')) { "-Wall", "-Werror" };
        // linux/types.h includes asm/types.h, which lives in the host's multiarch directory.
        var multiarch = RuntimeInformation.OSArchitecture switch
        {
            Architecture.X64 => "/usr/include/x86_64-linux-gnu",
            Architecture.Arm64 => "/usr/include/aarch64-linux-gnu",
            _ => null,
        };
        if (multiarch is not null && Directory.Exists(multiarch))
            args.Add("-I" + multiarch);
        args.AddRange(["-c", source, "-o", output]);

        var times = new List<double>();
        // One untimed run: the first start of clang pays for loading it from disk.
        for (var run = 0; run <= runs; run++)
        {
            var watch = Stopwatch.StartNew();
            var (exit, messages) = Run(args);
            var elapsed = watch.Elapsed.TotalMilliseconds;
            if (exit != 0)
                throw new BenchmarkException($"{Executable} {string.Join(' ', args)} failed (exit {exit}):\n{messages}");
            if (run > 0)
                times.Add(elapsed);
        }
        return new CompileResult(File.ReadAllBytes(output), Stats.Median(times));
    }

    private static (int Exit, string Output) Run(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(Executable) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }
}

/// <summary>A problem that makes a result meaningless: reported, never measured around.</summary>
internal sealed class BenchmarkException(string message) : Exception(message);

internal static class Stats
{
    public static double Median(IReadOnlyCollection<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static double GeometricMean(IEnumerable<double> ratios)
    {
        var list = ratios.ToList();
        return list.Count == 0 ? double.NaN : Math.Exp(list.Sum(Math.Log) / list.Count);
    }
}

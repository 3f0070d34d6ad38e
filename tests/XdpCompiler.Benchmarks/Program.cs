using XdpCompiler.Benchmarks;
using XdpCompiler.Core.Pipeline;
using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime;
using XdpCompiler.Runtime.Elf;

// Our compiler against clang-19 on the same programs, measured in the same run; with `runtime` first, our runtime
// against bpftool, ip and libbpf instead (RuntimeBenchmark.cs). See README.md.
if (args.Length > 0 && args[0] == "runtime")
    return RuntimeBenchmark.Run(args[1..]);

Options options;
try
{
    options = Options.Parse(args);
}
catch (UsageException e)
{
    Console.Error.WriteLine($"error: {e.Message}\n{Options.Usage}");
    return 2;
}

string root;
List<string> names;
try
{
    root = Repository.Root();
    Clang.EnsureInstalled();
    names = ProgramNames(root, options.Programs);
}
catch (BenchmarkException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

Console.WriteLine($"XdpCompiler vs {Clang.Executable} ({Clang.Flags(options.Cpu)}, ours XdpCpu={options.Cpu}); kernel {Environment.OSVersion.Version}; {names.Count} programs; " +
    $"repeat {options.Repeat:N0}, median of {options.Runs} runs over {options.Placements} loads; self-check {options.CheckPackets:N0} random packets per program");

var scratch = Directory.CreateTempSubdirectory($"xdp-bench-{Environment.ProcessId}-");
var results = new List<ObjectResult>();
var errors = new List<string>();
try
{
    // One CPU for everything: per-CPU maps then compare exactly, and timings do not hop between cores.
    using var pin = CpuPin.CurrentThread();
    OurCompiler.WarmUp(names.Select(n => (n, Path.Combine(Bench.ProgramDirectory(root), n + ".cs"))), CompilerOptions.Parse(options.Cpu));
    foreach (var name in names)
    {
        Console.Error.Write($"  {name}…");
        try
        {
            results.Add(Bench.Run(name, root, scratch.FullName, options));
            Console.Error.WriteLine(" done");
        }
        catch (Exception e) when (e is BenchmarkException or BpfException or BpfObjectFormatException)
        {
            Console.Error.WriteLine(" ERROR");
            errors.Add($"{name}: {e.Message}");
        }
    }
}
finally
{
    scratch.Delete(recursive: true);
}

Report.Print(results, options);
if (errors.Count == 0)
    return 0;
Console.WriteLine();
Console.WriteLine($"ERRORS ({errors.Count}) — these programs were not measured:");
foreach (var error in errors)
    Console.WriteLine($"  {error}");
return 1;

static List<string> ProgramNames(string root, IReadOnlyList<string>? requested)
{
    var twins = Directory.EnumerateFiles(Bench.TwinDirectory(root), "*.c").Select(p => Path.GetFileNameWithoutExtension(p)!).ToHashSet();
    var programs = Directory.EnumerateFiles(Bench.ProgramDirectory(root), "*.cs").Select(p => Path.GetFileNameWithoutExtension(p)!).ToHashSet();
    var orphans = twins.Except(programs).ToList();
    if (orphans.Count > 0)
        throw new BenchmarkException($"C twins without a C# program in {Bench.ProgramDirectory(root)}: {string.Join(", ", orphans)}.");
    if (requested is null)
        return twins.Order(StringComparer.Ordinal).ToList();
    var unknown = requested.Where(r => !twins.Contains(r)).ToList();
    if (unknown.Count > 0)
        throw new BenchmarkException($"No C twin for {string.Join(", ", unknown)}; programs with twins: {string.Join(", ", twins.Order(StringComparer.Ordinal))}.");
    return requested.Distinct().ToList();
}

/// <summary>One object (a C# class and its C twin), both compiled, checked and measured.</summary>
internal static class Bench
{
    public static string ProgramDirectory(string root) => Path.Combine(root, "tests", "XdpCompiler.Generator.Tests", "Programs");

    public static string TwinDirectory(string root) => Path.Combine(root, "tests", "XdpCompiler.Benchmarks", "c");

    public static ObjectResult Run(string name, string root, string scratch, Options options)
    {
        var ours = OurCompiler.Compile(name, Path.Combine(ProgramDirectory(root), name + ".cs"), options.Runs, CompilerOptions.Parse(options.Cpu));
        var clang = Clang.Compile(Path.Combine(TwinDirectory(root), name + ".c"), Path.Combine(scratch, name + ".o"), options.Runs, options.Cpu);
        if (options.Keep is not null)
        {
            Directory.CreateDirectory(options.Keep);
            File.WriteAllBytes(Path.Combine(options.Keep, name + ".ours.o"), ours.Elf);
            File.WriteAllBytes(Path.Combine(options.Keep, name + ".clang.o"), clang.Elf);
        }
        var ourObject = ElfObjectReader.Read(ours.Elf, name);
        var clangObject = ElfObjectReader.Read(clang.Elf, name);
        SelfCheck.CompareShapes(name, ourObject, clangObject);

        var load = new BpfObjectLoadOptions { CollectVerifierStats = true };
        using var ourLoaded = BpfObjectLoader.Load(ourObject, load);
        using var clangLoaded = BpfObjectLoader.Load(clangObject, load);
        foreach (var warning in ourLoaded.Warnings.Select(w => $"ours: {w}").Concat(clangLoaded.Warnings.Select(w => $"clang: {w}")))
            Console.Error.Write($" [warning {warning}]");
        SelfCheck.CompareBehaviour(name, ourLoaded, clangLoaded, options.CheckPackets);

        var packet = Packets.Ipv4Udp();
        var programs = new List<ProgramResult>();
        foreach (var program in ourObject.Programs.Where(p => p.IsXdp).Select(p => p.Name).Order(StringComparer.Ordinal))
        {
            var (ourRuns, clangRuns) = Time(ourObject, clangObject, program, packet, options);
            programs.Add(new ProgramResult(
                program,
                InstructionCount(ourObject, program),
                InstructionCount(clangObject, program),
                Processed(ourLoaded.Program(program)),
                Processed(clangLoaded.Program(program)),
                ourRuns,
                clangRuns));
        }

        return new ObjectResult(name, ours.Milliseconds, clang.Milliseconds, programs);
    }

    // Instruction slots (ld_imm64 counts two, as in the ELF), with any .text subprograms the program is linked with.
    private static int InstructionCount(BpfObject obj, string program) =>
        obj.Programs.Single(p => p.Name == program).Instructions.Length
        + obj.Programs.Where(p => p.Section == ".text").Sum(p => p.Instructions.Length);

    private static int Processed(LoadedProgram program) =>
        program.VerifierStats?.ProcessedInstructions
        ?? throw new BenchmarkException($"The kernel's log for {program.Name} had no \"processed N insns\" line.");

    // One timing run loads both objects --placements times afresh and test-runs every load once, ours and clang's
    // alternating which goes first, so neither always runs on a warmer cache. The kernel puts each JIT image at a
    // random place, and where the code lands moves a ~22 ns run by a nanosecond or two either way, the same for every
    // run of that load: fresh loads in every run make the median stand on runs x placements draws, not on the few
    // that one set of loads would give. All of a run's loads stay loaded until it ends, so each lands in a place of
    // its own: a load freed before the next one is made hands that one the same slot, and the draws were then
    // mostly one place. Every run's mean is returned; the table shows their median.
    private static (IReadOnlyList<double> Ours, IReadOnlyList<double> Clang) Time(BpfObject ourObject, BpfObject clangObject, string program, byte[] packet, Options options)
    {
        var ourTimes = new List<double>();
        var clangTimes = new List<double>();
        for (var run = 0; run < options.Runs; run++)
        {
            var loads = new List<(LoadedBpfObject Ours, LoadedBpfObject Clang, bool OursFirst)>();
            try
            {
                for (var i = 0; i < options.Placements; i++)
                {
                    // The kernel packs JIT images one after the other: which side loads first (and lands lower) alternates too.
                    var oursFirst = (run + i) % 2 == 0;
                    var first = BpfObjectLoader.Load(oursFirst ? ourObject : clangObject);
                    LoadedBpfObject second;
                    try
                    {
                        second = BpfObjectLoader.Load(oursFirst ? clangObject : ourObject);
                    }
                    catch
                    {
                        first.Dispose();
                        throw;
                    }

                    loads.Add(oursFirst ? (first, second, true) : (second, first, false));
                }

                double ourSum = 0, clangSum = 0;
                foreach (var (ours, clang, oursFirst) in loads)
                {
                    if (oursFirst)
                    {
                        ourSum += ours.Program(program).TestRun(packet, options.Repeat).DurationNanoseconds;
                        clangSum += clang.Program(program).TestRun(packet, options.Repeat).DurationNanoseconds;
                    }
                    else
                    {
                        clangSum += clang.Program(program).TestRun(packet, options.Repeat).DurationNanoseconds;
                        ourSum += ours.Program(program).TestRun(packet, options.Repeat).DurationNanoseconds;
                    }
                }

                ourTimes.Add(ourSum / options.Placements);
                clangTimes.Add(clangSum / options.Placements);
            }
            finally
            {
                foreach (var (ours, clang, _) in loads)
                {
                    ours.Dispose();
                    clang.Dispose();
                }
            }
        }

        return (ourTimes, clangTimes);
    }
}

internal sealed record ProgramResult(string Name, int OurInstructions, int ClangInstructions, int OurProcessed, int ClangProcessed,
    IReadOnlyList<double> OurRuns, IReadOnlyList<double> ClangRuns)
{
    public double OurNs => Stats.Median(OurRuns.ToArray());

    public double ClangNs => Stats.Median(ClangRuns.ToArray());

    /// <summary>Ours / clang's in one timing run (the two sides of a run are timed alternately, load by load).</summary>
    public double RunRatio(int run) => Math.Max(OurRuns[run], 1) / Math.Max(ClangRuns[run], 1);

    public double InstructionRatio => (double)OurInstructions / ClangInstructions;

    public double ProcessedRatio => (double)OurProcessed / ClangProcessed;

    // A program faster than the kernel's 1 ns resolution on both sides counts as a tie.
    public double NsRatio => Math.Max(OurNs, 1) / Math.Max(ClangNs, 1);
}

internal sealed record ObjectResult(string Name, double OurMs, double ClangMs, IReadOnlyList<ProgramResult> Programs);

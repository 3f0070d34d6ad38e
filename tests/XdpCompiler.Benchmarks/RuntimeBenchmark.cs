using System.Runtime.InteropServices;
using XdpCompiler.Core.Pipeline;
using XdpCompiler.Runtime;
using XdpCompiler.Runtime.Elf;
using XdpCompiler.TestKit;

namespace XdpCompiler.Benchmarks;

/// <summary>
/// The runtime mode (<c>runtime</c> as the first argument): our loader against bpftool + ip and libbpf on load, attach,
/// detach and unload of the same object files on a veth pair, and our typed map views against libbpf and bpftool on
/// map operations, all in one run. See README.md.
/// </summary>
internal static class RuntimeBenchmark
{
    private const string MapObject = "MapKinds";

    public static int Run(string[] args)
    {
        RuntimeOptions options;
        try
        {
            options = RuntimeOptions.Parse(args);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"error: {e.Message}\n{RuntimeOptions.Usage}");
            return 2;
        }

        string root;
        try
        {
            root = Repository.Root();
            if (Geteuid() != 0)
                throw new BenchmarkException("The runtime benchmark needs root (bpf(), netns, bpffs pins).");
            Clang.EnsureInstalled();
            foreach (var (tool, probe) in new[] { ("bpftool", "version"), ("ip", "-V"), ("gcc", "--version") })
                Tool.Run(tool, probe);
            if (!File.Exists(Path.Combine(Bench.TwinDirectory(root), options.Object + ".c")))
                throw new BenchmarkException($"--object {options.Object}: there is no C twin {Path.Combine(Bench.TwinDirectory(root), options.Object + ".c")}.");
        }
        catch (BenchmarkException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }

        // Ctrl+C and SIGTERM stop the run between steps, so the finally below removes the pins and the namespace.
        using var cancel = new CancellationTokenSource();
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            cancel.Cancel();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

        RemoveStalePins();
        // `ip … obj` makes its own tree on bpffs the first time; a run that made it removes it again if it is still empty.
        var ipTree = IpRouteTree.Where(p => !Path.Exists(p)).ToList();
        var scratch = Directory.CreateTempSubdirectory($"xdp-bench-runtime-{Environment.ProcessId}-");
        var pinRoot = Path.Combine(BpfFs, $"{PinPrefix}{Environment.ProcessId}");
        Netns? netns = null;
        try
        {
            Directory.CreateDirectory(pinRoot);
            var targets = BuildObjects(root, options.Object, scratch.FullName);
            var mapObjectPath = Path.Combine(scratch.FullName, MapObject + ".ours.o");
            File.WriteAllBytes(mapObjectPath, OurCompiler.Compile(MapObject, Path.Combine(Bench.ProgramDirectory(root), MapObject + ".cs"), 1, CompilerOptions.Parse("v3")).Elf);
            var helper = Path.Combine(scratch.FullName, "runtime_ref");
            Tool.Run("gcc", "-O2", "-Wall", "-Werror", Path.Combine(root, "tests", "XdpCompiler.Benchmarks", "native", "runtime_ref.c"), "-o", helper, "-lbpf");
            cancel.Token.ThrowIfCancellationRequested();

            netns = Netns.Create();
            Console.WriteLine($"XdpCompiler.Runtime vs bpftool/ip/libbpf; kernel {Environment.OSVersion.Version}; {Tool.Run("bpftool", "version").Output.Split('\n')[0]}, " +
                $"{Tool.Run("ip", "-V").Output.Trim()}; {netns}");

            var (rows, spawn) = new LoadCycles(netns.HostInterface, pinRoot, helper, cancel.Token).Run(targets, options.Cycles);

            List<MapOpRow> mapRows;
            using (var pin = CpuPin.CurrentThread())
            using (var maps = BpfObjectLoader.LoadFile(mapObjectPath))
                mapRows = new MapOps(pinRoot, helper, pin.Cpu, options, cancel.Token).Run(maps);

            RuntimeReport.Print(options, netns.HostInterface, rows, spawn, mapRows);
            return 0;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("\ninterrupted; removing the pins and the namespace");
            return 130;
        }
        catch (Exception e) when (e is BenchmarkException or BpfException or BpfObjectFormatException or InvalidOperationException or KeyNotFoundException)
        {
            Console.Error.WriteLine(cancel.IsCancellationRequested ? "\ninterrupted; removing the pins and the namespace" : $"\nerror: {e.Message}");
            return cancel.IsCancellationRequested ? 130 : 1;
        }
        finally
        {
            netns?.Dispose();
            if (Directory.Exists(pinRoot))
                Directory.Delete(pinRoot, recursive: true);
            scratch.Delete(recursive: true);
            RemoveIfEmpty(ipTree);
        }
    }

    // iproute2 makes either tc/globals with ip and xdp linking to tc, or a plain xdp/globals; either way these three.
    private static readonly string[] IpRouteTree = [$"{BpfFs}/ip", $"{BpfFs}/xdp", $"{BpfFs}/tc"];

    private static void RemoveIfEmpty(IReadOnlyList<string> paths)
    {
        foreach (var link in paths.Select(p => new DirectoryInfo(p)).Where(d => d.LinkTarget is not null))
            link.Delete();
        foreach (var directory in paths.Select(p => new DirectoryInfo(p)).Where(d => d.Exists && d.LinkTarget is null))
        {
            var globals = new DirectoryInfo(Path.Combine(directory.FullName, "globals"));
            if (globals.Exists && !globals.EnumerateFileSystemInfos().Any())
                globals.Delete();
            if (!directory.EnumerateFileSystemInfos().Any())
                directory.Delete();
        }
    }

    private const string BpfFs = "/sys/fs/bpf";
    private const string PinPrefix = "xdp-bench-";

    /// <summary>Our object of <paramref name="name"/> and clang's of its twin, written to files, with the program to attach.</summary>
    private static List<LoadTarget> BuildObjects(string root, string name, string scratch)
    {
        var ours = Path.Combine(scratch, name + ".ours.o");
        File.WriteAllBytes(ours, OurCompiler.Compile(name, Path.Combine(Bench.ProgramDirectory(root), name + ".cs"), 1, CompilerOptions.Parse("v3")).Elf);
        var clang = Path.Combine(scratch, name + ".clang.o");
        Clang.Compile(Path.Combine(Bench.TwinDirectory(root), name + ".c"), clang, 1, "v3");
        var targets = new List<LoadTarget>();
        foreach (var (label, path) in new[] { ("ours", ours), ("clang", clang) })
        {
            var xdp = ElfObjectReader.Read(path).Programs.Where(p => p.IsXdp).ToList();
            if (xdp.Count == 0)
                throw new BenchmarkException($"{label}'s object of {name} has no XDP program.");
            // The first in name order: both objects have the same programs (the compiler benchmark's self-check).
            var program = xdp.OrderBy(p => p.Name, StringComparer.Ordinal).First();
            targets.Add(new LoadTarget(label, path, program.Name, program.Section));
        }
        return targets;
    }

    // A run killed by SIGKILL leaves its pin directory (and whatever programs it holds); the next run removes those of
    // processes that are gone.
    private static void RemoveStalePins()
    {
        foreach (var directory in Directory.EnumerateDirectories(BpfFs, PinPrefix + "*"))
        {
            if (int.TryParse(Path.GetFileName(directory).AsSpan(PinPrefix.Length), out var pid) && !Directory.Exists($"/proc/{pid}"))
                Directory.Delete(directory, recursive: true);
        }
    }

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint Geteuid();
}

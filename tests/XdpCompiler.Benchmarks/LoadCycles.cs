using System.Diagnostics;
using System.Globalization;
using XdpCompiler.Runtime;

namespace XdpCompiler.Benchmarks;

/// <summary>Who loads and attaches the object in a cycle.</summary>
internal enum Loader
{
    /// <summary>XdpCompiler.Runtime in this process: BpfObjectLoader.LoadFile, Attach (bpf_link), dispose link, dispose object.</summary>
    Runtime,
    /// <summary>runtime_ref.c through libbpf: open+load, bpf_link_create, close link, close object; timed inside that process.</summary>
    Libbpf,
    /// <summary><c>bpftool prog loadall</c>, <c>ip link set … pinned</c>, <c>ip link set … off</c>, <c>rm -r</c> of the pins.</summary>
    BpftoolIp,
    /// <summary><c>ip link set … obj FILE sec S</c> (iproute2's libbpf loads and attaches), <c>ip link set … off</c>.</summary>
    IpObject,
}

/// <summary>An object file on disk and the XDP program in it that is attached.</summary>
internal sealed record LoadTarget(string Label, string Path, string Program, string Section);

/// <summary>Per-stage wall times of one cycle in milliseconds; null for a stage that loader does inside another one.</summary>
internal readonly record struct Stages(double? Load, double Attach, double Detach, double? Unload)
{
    public double Total => (Load ?? 0) + Attach + Detach + (Unload ?? 0);
}

internal sealed class LoadRow(LoadTarget target, XdpMode mode, Loader loader)
{
    public LoadTarget Target { get; } = target;

    public XdpMode Mode { get; } = mode;

    public Loader Loader { get; } = loader;

    public List<Stages> Cycles { get; } = [];
}

/// <summary>
/// Load, attach, detach and unload cycles of every target × mode × loader, interleaved: each round runs every row once,
/// starting one row later than the round before, so drift in the machine's load spreads over all rows alike. Every
/// attachment and detachment is checked with netlink (untimed) before the cycle goes on.
/// </summary>
internal sealed class LoadCycles(string interfaceName, string pinRoot, string helper, CancellationToken cancel)
{
    private const int WarmUpRounds = 2;
    private int _pinCounter;

    public (List<LoadRow> Rows, List<double> Spawn) Run(IReadOnlyList<LoadTarget> targets, int cycles)
    {
        var rows = (from target in targets
                    from mode in new[] { XdpMode.Generic, XdpMode.Native }
                    from loader in Enum.GetValues<Loader>()
                    select new LoadRow(target, mode, loader)).ToList();
        var spawn = new List<double>();
        for (var round = 0; round < WarmUpRounds + cycles; round++)
        {
            Console.Error.Write(round < WarmUpRounds ? $"\r  load/attach warm-up round {round + 1}/{WarmUpRounds}" : $"\r  load/attach cycle {round + 1 - WarmUpRounds}/{cycles}        ");
            for (var k = 0; k < rows.Count; k++)
            {
                cancel.ThrowIfCancellationRequested();
                var row = rows[(k + round) % rows.Count];
                var stages = Cycle(row);
                if (round >= WarmUpRounds)
                    row.Cycles.Add(stages);
            }
            var trueRun = Tool.Run("true");
            if (round >= WarmUpRounds)
                spawn.Add(trueRun.Milliseconds);
        }
        Console.Error.WriteLine();
        return (rows, spawn);
    }

    private Stages Cycle(LoadRow row) => row.Loader switch
    {
        Loader.Runtime => RuntimeCycle(row.Target, row.Mode),
        Loader.Libbpf => LibbpfCycle(row.Target, row.Mode),
        Loader.BpftoolIp => BpftoolCycle(row.Target, row.Mode),
        Loader.IpObject => IpObjectCycle(row.Target, row.Mode),
        _ => throw new ArgumentOutOfRangeException(nameof(row)),
    };

    private Stages RuntimeCycle(LoadTarget target, XdpMode mode)
    {
        var t0 = Stopwatch.GetTimestamp();
        var loaded = BpfObjectLoader.LoadFile(target.Path);
        XdpLink? link = null;
        try
        {
            var t1 = Stopwatch.GetTimestamp();
            link = loaded.Program(target.Program).Attach(interfaceName, mode);
            var t2 = Stopwatch.GetTimestamp();
            ExpectAttached(mode, "XdpCompiler.Runtime", link.ProgramId);
            var t3 = Stopwatch.GetTimestamp();
            link.Dispose();
            var t4 = Stopwatch.GetTimestamp();
            link = null;
            ExpectDetached("XdpCompiler.Runtime");
            var t5 = Stopwatch.GetTimestamp();
            loaded.Dispose();
            var t6 = Stopwatch.GetTimestamp();
            return new Stages(Ms(t0, t1), Ms(t1, t2), Ms(t3, t4), Ms(t5, t6));
        }
        finally
        {
            link?.Dispose();
            loaded.Dispose();
        }
    }

    // One warm-up cycle and one timed cycle per process: libbpf probes kernel features on its first load, which a
    // long-lived loader pays once, as our runtime pays its JIT once.
    private Stages LibbpfCycle(LoadTarget target, XdpMode mode)
    {
        var output = Tool.Run(helper, "load", target.Path, target.Program, interfaceName, ModeName(mode), "2").Output;
        ExpectDetached("runtime_ref");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length != 2)
            throw new BenchmarkException($"runtime_ref load printed {lines.Length} lines, not 2:\n{output}");
        var ns = lines[1].Split(' ').Select(s => double.Parse(s, CultureInfo.InvariantCulture) / 1e6).ToArray();
        return new Stages(ns[0], ns[1], ns[2], ns[3]);
    }

    private Stages BpftoolCycle(LoadTarget target, XdpMode mode)
    {
        var directory = Path.Combine(pinRoot, $"load{++_pinCounter}");
        try
        {
            var load = Tool.Run("bpftool", "prog", "loadall", target.Path, directory).Milliseconds;
            var attach = Tool.Run("ip", "link", "set", "dev", interfaceName, IpMode(mode), "pinned", Path.Combine(directory, target.Program)).Milliseconds;
            ExpectAttached(mode, "ip … pinned", null);
            var detach = Tool.Run("ip", "link", "set", "dev", interfaceName, IpMode(mode), "off").Milliseconds;
            ExpectDetached("ip … off");
            var unload = Tool.Run("rm", "-r", directory).Milliseconds;
            return new Stages(load, attach, detach, unload);
        }
        catch
        {
            Tool.TryRun("ip", "link", "set", "dev", interfaceName, IpMode(mode), "off");
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    private Stages IpObjectCycle(LoadTarget target, XdpMode mode)
    {
        try
        {
            var attach = Tool.Run("ip", "link", "set", "dev", interfaceName, IpMode(mode), "obj", target.Path, "sec", target.Section).Milliseconds;
            ExpectAttached(mode, "ip … obj", null);
            var detach = Tool.Run("ip", "link", "set", "dev", interfaceName, IpMode(mode), "off").Milliseconds;
            ExpectDetached("ip … off");
            return new Stages(null, attach, detach, null);
        }
        catch
        {
            Tool.TryRun("ip", "link", "set", "dev", interfaceName, IpMode(mode), "off");
            throw;
        }
    }

    private void ExpectAttached(XdpMode mode, string who, uint? programId)
    {
        var attachment = XdpQuery.Get(interfaceName);
        var expected = mode == XdpMode.Native ? XdpAttachedMode.Native : XdpAttachedMode.Generic;
        if (attachment.Mode != expected || (programId is { } id && attachment.ProgramId != id))
            throw new BenchmarkException($"After {who} attached, {interfaceName} reports {attachment}; expected mode {expected}{(programId is null ? "" : $" and program id {programId}")}.");
    }

    private void ExpectDetached(string who)
    {
        var attachment = XdpQuery.Get(interfaceName);
        if (attachment.IsAttached)
            throw new BenchmarkException($"After {who} detached, {interfaceName} still reports {attachment}.");
    }

    private static string ModeName(XdpMode mode) => mode == XdpMode.Native ? "native" : "generic";

    private static string IpMode(XdpMode mode) => mode == XdpMode.Native ? "xdpdrv" : "xdpgeneric";

    private static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;
}

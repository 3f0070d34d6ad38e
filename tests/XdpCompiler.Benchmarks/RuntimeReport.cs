using System.Globalization;

namespace XdpCompiler.Benchmarks;

/// <summary>The runtime mode's tables: load/attach cycles per loader, map operations per second per side.</summary>
internal static class RuntimeReport
{
    public static void Print(RuntimeOptions options, string interfaceName, IReadOnlyList<LoadRow> rows, IReadOnlyList<double> spawn, IReadOnlyList<MapOpRow> maps)
    {
        Console.WriteLine();
        Console.WriteLine($"Load + attach + detach + unload of {options.Object} on veth {interfaceName}, {options.Cycles} cycles per row " +
            "(ms per stage, median/p90; the total's median and p90 are of the cycle totals)");
        var load = new Report.Table("object  mode     loader", "load", "attach", "detach", "unload", "total", "runtime ÷ this: load", "total");
        foreach (var group in rows.GroupBy(r => (r.Target.Label, r.Mode)))
        {
            var runtime = group.Single(r => r.Loader == Loader.Runtime);
            var ourLoad = Stats.Median(runtime.Cycles.Select(c => c.Load!.Value).ToList());
            var ourTotal = Stats.Median(runtime.Cycles.Select(c => c.Total).ToList());
            foreach (var row in group)
            {
                var total = row.Cycles.Select(c => c.Total).ToList();
                load.Add($"{row.Target.Label,-7} {row.Mode.ToString().ToLowerInvariant(),-8} {Name(row.Loader)}",
                    Stage(row.Cycles.Select(c => c.Load)), Stage(row.Cycles.Select(c => (double?)c.Attach)),
                    Stage(row.Cycles.Select(c => (double?)c.Detach)), Stage(row.Cycles.Select(c => c.Unload)),
                    Stage(total.Select(t => (double?)t)),
                    row.Cycles[0].Load is null ? "—" : R(ourLoad / Stats.Median(row.Cycles.Select(c => c.Load!.Value).ToList())),
                    R(ourTotal / Stats.Median(total)));
            }
            load.Separator();
        }
        load.Print();
        Console.WriteLine($"process start alone (`true` from .NET: fork, exec, wait): {F(Stats.Median(spawn.ToList()), 2)}/{F(Percentile(spawn, 0.9), 2)} ms; " +
            "every bpftool, ip and rm stage pays one.");
        Console.WriteLine("runtime ÷ this: our median over this row's, for the load stage and for the whole cycle; below 1.00 our runtime is faster.");
        Console.WriteLine("Attach and detach are one kernel call on every loader (BPF_LINK_CREATE / closing the link, or netlink RTM_SETLINK) and are kernel time,");
        Console.WriteLine("in steps of the scheduler tick, so totals differ mostly by which step a cycle hit: compare the load column for the loaders' own work.");
        Console.WriteLine("runtime: BpfObjectLoader.LoadFile (ELF read, BTF, maps, program load) | Attach (BPF_LINK_CREATE) | dispose the link | dispose the object.");
        Console.WriteLine("libbpf: runtime_ref.c, bpf_object__open_file+load | bpf_link_create | close | bpf_object__close; the second cycle of a fresh process, timed inside it.");
        Console.WriteLine("bpftool + ip: `bpftool prog loadall` (pins) | `ip link set … pinned` (netlink) | `ip link set … off` | `rm -r` the pins.");
        Console.WriteLine("ip obj: `ip link set … obj FILE sec S` loads and attaches (netlink) | `ip link set … off` detaches and frees.");

        Console.WriteLine();
        Console.WriteLine($"Map operations per second on {MapObjectNote} maps (median of {options.Runs} runs of {options.Ops:N0} operations; ours and libbpf's loop on the same CPU; " +
            $"bpftool: {options.ToolOps} processes per operation)");
        var table = new Report.Table("map", "op", "ours ops/s", "libbpf ops/s", "ours/libbpf", "ours ns/op", "libbpf ns/op", "bpftool ops/s", "ours/bpftool");
        foreach (var group in maps.GroupBy(m => (m.Map, m.Description)))
        {
            var first = true;
            foreach (var m in group)
            {
                table.Add(first ? $"{m.Map} ({m.Description})" : "", m.Operation, N(m.Ours), N(m.Libbpf), R(m.Ours / m.Libbpf),
                    F(1e9 / m.Ours, 0), F(1e9 / m.Libbpf, 0), m.Bpftool is { } b ? F(b, 0) : "—", m.Bpftool is { } t ? N(m.Ours / t) : "—");
                first = false;
            }
        }
        table.Print();
        Console.WriteLine("ours: HashMapView / ArrayMapView / PerCpuHashMapView (each call one bpf() syscall); libbpf: bpf_map_update_elem / _lookup_elem / _delete_elem " +
            "in runtime_ref.c; ours/libbpf and ours/bpftool are ratios of ops/s: above 1.00 ours does more per second.");
    }

    private const string MapObjectNote = "our MapKinds object's";

    private static string Name(Loader loader) => loader switch
    {
        Loader.Runtime => "XdpCompiler.Runtime",
        Loader.Libbpf => "libbpf (C, in process)",
        Loader.BpftoolIp => "bpftool + ip pinned",
        Loader.IpObject => "ip … obj",
        _ => loader.ToString(),
    };

    private static string Stage(IEnumerable<double?> values)
    {
        var list = values.Where(v => v is not null).Select(v => v!.Value).ToList();
        return list.Count == 0 ? "—" : $"{F(Stats.Median(list), 2)}/{F(Percentile(list, 0.9), 2)}";
    }

    // Nearest rank: the smallest value with at least that fraction of the values at or below it.
    private static double Percentile(IReadOnlyCollection<double> values, double fraction)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Max(0, (int)Math.Ceiling(fraction * sorted.Length) - 1)];
    }

    private static string N(double value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string F(double value, int decimals) => value.ToString("F" + decimals, CultureInfo.InvariantCulture);

    private static string R(double value) => value.ToString("F2", CultureInfo.InvariantCulture);
}

using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using XdpCompiler.Runtime;

namespace XdpCompiler.Benchmarks;

/// <summary>Operations per second of one kind on one map, by each side (median of the runs).</summary>
internal sealed record MapOpRow(string Map, string Description, string Operation, double Ours, double Libbpf, double? Bpftool);

/// <summary>
/// Map operations through our typed views against the same operations through libbpf (runtime_ref.c, one process, a
/// tight loop) and through bpftool (one process per operation), on the same kernel maps: the maps of one object loaded
/// by our runtime and pinned, so the C side opens exactly those. Both loops do the same thing: update keys 0..K-1 (K =
/// max_entries), look each up and check its value, delete each (hash maps), in rounds, timing each phase.
/// </summary>
internal sealed class MapOps(string pinRoot, string helper, int cpu, RuntimeOptions options, CancellationToken cancel)
{
    // The layouts of MapKinds' FlowId and FlowStats: the views compare only sizes, the bytes must match too.
    [StructLayout(LayoutKind.Sequential)]
    private struct FlowKey
    {
        public uint Address;
        public ushort Port;
        public ushort Protocol;
    }

    private struct FlowValue
    {
        public ulong Packets;
        public ulong Bytes;
    }

    private sealed record OpTimes(Dictionary<string, (double Nanoseconds, long Count)> ByOperation)
    {
        public double OpsPerSecond(string operation) => ByOperation[operation].Count / (ByOperation[operation].Nanoseconds / 1e9);
    }

    public List<MapOpRow> Run(LoadedBpfObject obj)
    {
        var directory = Path.Combine(pinRoot, "maps");
        Directory.CreateDirectory(directory);
        var rows = new List<MapOpRow>();

        var flows = obj.Map("Flows");
        var flowView = flows.AsHash<FlowKey, FlowValue>();
        rows.AddRange(Measure(flows, directory, "hash, key 8 B, value 16 B", ["update", "lookup", "delete"], () => Hash(flowView, (int)flows.MaxEntries)));

        var verdicts = obj.Map("Verdicts");
        var verdictView = verdicts.AsArray<uint>();
        rows.AddRange(Measure(verdicts, directory, "array, value 4 B", ["update", "lookup"], () => Array(verdictView)));

        var ports = obj.Map("Ports");
        var portView = ports.AsPerCpuHash<ushort, ulong>();
        rows.AddRange(Measure(ports, directory, $"per-CPU hash, key 2 B, value 8 B × {SystemCpus.PossibleCount} CPUs", ["update", "lookup", "delete"], () => PerCpuHash(portView, (int)ports.MaxEntries)));
        return rows;
    }

    private IEnumerable<MapOpRow> Measure(LoadedMap map, string directory, string description, string[] operations, Func<OpTimes> ours)
    {
        Console.Error.Write($"  map {map.Name}…");
        var pin = Path.Combine(directory, map.Name);
        map.Pin(pin);
        var keys = (int)map.MaxEntries;

        // Warm-up, untimed: the JIT tiers the view and loader code up, the C binary and the map pages are in cache.
        ours();
        RunHelper(pin, keys);

        var oursRuns = new List<OpTimes>();
        var libbpfRuns = new List<OpTimes>();
        for (var run = 0; run < options.Runs; run++)
        {
            cancel.ThrowIfCancellationRequested();
            if (run % 2 == 0)
            {
                oursRuns.Add(ours());
                libbpfRuns.Add(RunHelper(pin, keys));
            }
            else
            {
                libbpfRuns.Add(RunHelper(pin, keys));
                oursRuns.Add(ours());
            }
        }
        var tool = Bpftool(map, pin, keys, operations);
        Console.Error.WriteLine(" done");
        return operations.Select(op => new MapOpRow(
            map.Name,
            description + $", {keys} keys",
            op,
            Stats.Median(oursRuns.Select(r => r.OpsPerSecond(op)).ToList()),
            Stats.Median(libbpfRuns.Select(r => r.OpsPerSecond(op)).ToList()),
            tool[op]));
    }

    private OpTimes Hash(HashMapView<FlowKey, FlowValue> view, int keys)
    {
        long update = 0, lookup = 0, delete = 0, done = 0;
        while (done < options.Ops)
        {
            var t = Stopwatch.GetTimestamp();
            for (uint i = 0; i < keys; i++)
                view.Update(new FlowKey { Address = i }, new FlowValue { Packets = i + 1, Bytes = 0 }); // the C side's bytes
            update += Stopwatch.GetTimestamp() - t;
            t = Stopwatch.GetTimestamp();
            for (uint i = 0; i < keys; i++)
            {
                if (!view.TryGetValue(new FlowKey { Address = i }, out var value) || value.Packets != i + 1)
                    throw Mismatch(view.Map, i);
            }
            lookup += Stopwatch.GetTimestamp() - t;
            t = Stopwatch.GetTimestamp();
            for (uint i = 0; i < keys; i++)
            {
                if (!view.Delete(new FlowKey { Address = i }))
                    throw Mismatch(view.Map, i);
            }
            delete += Stopwatch.GetTimestamp() - t;
            done += keys;
        }
        return Times(done, ("update", update), ("lookup", lookup), ("delete", delete));
    }

    private OpTimes Array(ArrayMapView<uint> view)
    {
        long update = 0, lookup = 0, done = 0;
        var keys = view.MaxEntries;
        while (done < options.Ops)
        {
            var t = Stopwatch.GetTimestamp();
            for (uint i = 0; i < keys; i++)
                view.Update(i, i + 1);
            update += Stopwatch.GetTimestamp() - t;
            t = Stopwatch.GetTimestamp();
            for (uint i = 0; i < keys; i++)
            {
                if (view.Lookup(i) != i + 1)
                    throw Mismatch(view.Map, i);
            }
            lookup += Stopwatch.GetTimestamp() - t;
            done += keys;
        }
        return Times(done, ("update", update), ("lookup", lookup));
    }

    private OpTimes PerCpuHash(PerCpuHashMapView<ushort, ulong> view, int keys)
    {
        // The per-CPU arrays are built once, as a caller that cares would; the view's own buffers are part of its cost.
        var values = Enumerable.Range(0, keys).Select(i => Enumerable.Repeat((ulong)i + 1, SystemCpus.PossibleCount).ToArray()).ToArray();
        long update = 0, lookup = 0, delete = 0, done = 0;
        while (done < options.Ops)
        {
            var t = Stopwatch.GetTimestamp();
            for (var i = 0; i < keys; i++)
                view.Update((ushort)i, values[i]);
            update += Stopwatch.GetTimestamp() - t;
            t = Stopwatch.GetTimestamp();
            for (var i = 0; i < keys; i++)
            {
                if (!view.TryGetValue((ushort)i, out var perCpu) || perCpu[0] != (ulong)i + 1)
                    throw Mismatch(view.Map, (uint)i);
            }
            lookup += Stopwatch.GetTimestamp() - t;
            t = Stopwatch.GetTimestamp();
            for (var i = 0; i < keys; i++)
            {
                if (!view.Delete((ushort)i))
                    throw Mismatch(view.Map, (uint)i);
            }
            delete += Stopwatch.GetTimestamp() - t;
            done += keys;
        }
        return Times(done, ("update", update), ("lookup", lookup), ("delete", delete));
    }

    private OpTimes RunHelper(string pin, int keys)
    {
        var output = Tool.Run(helper, "maps", pin, keys.ToString(CultureInfo.InvariantCulture), options.Ops.ToString(CultureInfo.InvariantCulture), cpu.ToString(CultureInfo.InvariantCulture)).Output;
        var times = new Dictionary<string, (double, long)>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            if (parts.Length != 3 || !double.TryParse(parts[1], CultureInfo.InvariantCulture, out var ns) || !long.TryParse(parts[2], CultureInfo.InvariantCulture, out var count))
                throw new BenchmarkException($"runtime_ref maps printed an unexpected line: '{line}'.");
            times[parts[0]] = (ns, count);
        }
        return new OpTimes(times);
    }

    // bpftool is a process per operation, so a few operations say enough; the ops/s are 1000 / (ms per process).
    private Dictionary<string, double?> Bpftool(LoadedMap map, string pin, int keys, string[] operations)
    {
        string Hex(uint value, int size) =>
            string.Join(' ', Enumerable.Range(0, size).Select(b => b < 4 ? ((value >> (8 * b)) & 0xff).ToString("x2", CultureInfo.InvariantCulture) : "00"));
        var result = new Dictionary<string, double?>();
        // bpftool takes one value for a per-CPU map and writes it on every CPU.
        var times = operations.ToDictionary(op => op, _ => new List<double>());
        for (var i = 0; i < options.ToolOps; i++)
        {
            cancel.ThrowIfCancellationRequested();
            var k = (uint)(i % keys);
            var key = Hex(k, map.KeySize).Split(' ');
            var value = Hex(k + 1, map.ValueSize).Split(' ');
            times["update"].Add(Tool.Run("bpftool", ["map", "update", "pinned", pin, "key", "hex", .. key, "value", "hex", .. value]).Milliseconds);
            times["lookup"].Add(Tool.Run("bpftool", ["map", "lookup", "pinned", pin, "key", "hex", .. key]).Milliseconds);
            if (times.TryGetValue("delete", out var deletes))
                deletes.Add(Tool.Run("bpftool", ["map", "delete", "pinned", pin, "key", "hex", .. key]).Milliseconds);
        }
        foreach (var (op, list) in times)
            result[op] = 1000.0 / Stats.Median(list);
        return result;
    }

    private static OpTimes Times(long count, params (string Operation, long Ticks)[] phases) =>
        new(phases.ToDictionary(p => p.Operation, p => (p.Ticks * 1e9 / Stopwatch.Frequency, count)));

    private static BenchmarkException Mismatch(LoadedMap map, uint key) =>
        new($"Map {map.Name}: key {key} did not read back what was written (or was missing when deleted).");
}

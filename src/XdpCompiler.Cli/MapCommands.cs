using System.Text.Json.Nodes;
using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime;

namespace XdpCompiler.Cli;

internal static class MapCommands
{
    public const string Help = """
        Usage: xdpc map dump|update|delete --pin PATH ... [--json]

        Commands:
          dump    print the entries of the map pinned at PATH (keys and values in hex; per-CPU maps one value per CPU)
          update  write one entry: --key HEX --value HEX [--flags any|noexist|exist]
          delete  remove one entry: --key HEX
        """;

    public static Command Dump { get; } = new("map dump", """
        Usage: xdpc map dump --pin PATH [--max N] [--json]

        Prints the entries of the map pinned at PATH: its type and sizes as the kernel reports them, then each key and
        value in hex (per-CPU maps: one value per possible CPU).

          --pin PATH  the pinned map (e.g. /sys/fs/bpf/counters)
          --max N     stop after N entries (default: all)
          --json      {pin, name, type, keySize, valueSize, maxEntries, entries: [{key, value | values}]}
        """, [], ["--pin", "--max"], Execute);

    private static int Execute(Arguments args, Output output)
    {
        args.NoPositionals();
        var pin = args.Required("--pin");
        var max = args.UInt("--max", uint.MaxValue);
        using var map = LoadedMap.OpenPinned(pin);
        var definition = map.Definition;
        var id = map.Id;

        var entries = new List<(byte[] Key, byte[] Value)>();
        foreach (var key in map.Keys())
        {
            if (entries.Count >= max)
                break;
            if (map.Lookup(key) is { } value)
                entries.Add((key, value));
        }

        var stride = map.PerCpuValueStride;
        IEnumerable<string> PerCpu(byte[] value) => Enumerable.Range(0, value.Length / stride)
            .Select(cpu => Convert.ToHexStringLower(value.AsSpan(cpu * stride, map.ValueSize)));

        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["pin"] = pin,
                ["name"] = definition.Name,
                ["id"] = id,
                ["type"] = definition.Type.ToString(),
                ["keySize"] = definition.KeySize,
                ["valueSize"] = definition.ValueSize,
                ["maxEntries"] = definition.MaxEntries,
                ["flags"] = definition.Flags,
                ["entries"] = new JsonArray(entries.Select(e => (JsonNode?)(map.IsPerCpu
                    ? new JsonObject { ["key"] = Convert.ToHexStringLower(e.Key), ["values"] = new JsonArray(PerCpu(e.Value).Select(v => (JsonNode?)v).ToArray()) }
                    : new JsonObject { ["key"] = Convert.ToHexStringLower(e.Key), ["value"] = Convert.ToHexStringLower(e.Value) })).ToArray()),
            });
            return Cli.Success;
        }
        output.Out.WriteLine($"map {definition.Name} (id {id}): {definition.Type}, key {definition.KeySize} B, value {definition.ValueSize} B, max_entries {definition.MaxEntries}, {entries.Count} entries shown");
        foreach (var (key, value) in entries)
        {
            output.Out.WriteLine(map.IsPerCpu
                ? $"{Convert.ToHexStringLower(key)}: " + string.Join(" ", PerCpu(value).Select((v, cpu) => $"cpu{cpu}={v}"))
                : $"{Convert.ToHexStringLower(key)}: {Convert.ToHexStringLower(value)}");
        }
        return Cli.Success;
    }
}

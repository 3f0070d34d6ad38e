using System.Globalization;
using System.Text.Json.Nodes;
using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime;
using XdpCompiler.Runtime.Interop;

namespace XdpCompiler.Cli;

/// <summary><c>xdpc map update</c> and <c>xdpc map delete</c>: one entry of a pinned map, key and value in hex.</summary>
internal static class MapEditCommands
{
    public static Command Update { get; } = new("map update", """
        Usage: xdpc map update --pin PATH --key HEX --value HEX [--flags any|noexist|exist] [--json]

        Writes one entry of the map pinned at PATH. Key and value are the raw bytes in hex, in the map's own sizes
        (little-endian numbers, e.g. key 07000000 for the u32 7). For per-CPU maps the value is either one value
        (written to every CPU) or one value per possible CPU, concatenated.

          --pin PATH     the pinned map
          --key HEX      the key, exactly key_size bytes
          --value HEX    the value, value_size bytes (per-CPU: value_size or value_size × CPUs bytes)
          --flags F      any (default, create or replace), noexist (only create), exist (only replace)
          --json         {pin, name, key, value, flags}
        """, [], ["--pin", "--key", "--value", "--flags"], ExecuteUpdate);

    public static Command Delete { get; } = new("map delete", """
        Usage: xdpc map delete --pin PATH --key HEX [--json]

        Removes one entry of the map pinned at PATH. Exit code 1 when the key is not there. Array maps cannot delete
        entries (the kernel says EINVAL); write zeros with map update instead.

          --pin PATH  the pinned map
          --key HEX   the key, exactly key_size bytes
          --json      {pin, name, key, deleted}
        """, [], ["--pin", "--key"], ExecuteDelete);

    private static int ExecuteUpdate(Arguments args, Output output)
    {
        args.NoPositionals();
        var pin = args.Required("--pin");
        var keyHex = args.Required("--key");
        var valueHex = args.Required("--value");
        var flags = args.Option("--flags") switch
        {
            null or "any" => MapUpdateFlags.Any,
            "noexist" => MapUpdateFlags.NoExist,
            "exist" => MapUpdateFlags.Exist,
            var other => throw new UsageException($"map update: --flags wants any, noexist or exist, not '{other}'"),
        };
        var key = HexBytes.Parse(keyHex, "map update", "--key");
        var value = HexBytes.Parse(valueHex, "map update", "--value");
        using var map = LoadedMap.OpenPinned(pin);
        CheckKey(map, key, "map update");
        var buffer = ValueBuffer(map, value);
        if (!map.TryUpdate(key, buffer, flags, out var errno))
        {
            var hint = errno switch
            {
                17 => "the key exists and --flags noexist was given",
                2 => "the key does not exist and --flags exist was given",
                // Arrays say E2BIG for an index past the end, hashes for a full map.
                7 when map.Type is BpfMapType.Array or BpfMapType.PerCpuArray => $"array keys are indexes below {map.MaxEntries}",
                7 => $"the map is full ({map.MaxEntries} entries)",
                _ => null,
            };
            throw new InvalidOperationException($"update of map {map.Name} at {pin} failed: {Errno.Name(errno)} ({Errno.Describe(errno)})" + (hint is null ? "" : $": {hint}"));
        }

        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["pin"] = pin,
                ["name"] = map.Name,
                ["key"] = Convert.ToHexStringLower(key),
                ["value"] = Convert.ToHexStringLower(buffer),
                ["flags"] = flags.ToString().ToLowerInvariant(),
            });
        }
        else
        {
            output.Out.WriteLine($"updated {map.Name}[{Convert.ToHexStringLower(key)}] = {Convert.ToHexStringLower(buffer)}");
        }
        return Cli.Success;
    }

    private static int ExecuteDelete(Arguments args, Output output)
    {
        args.NoPositionals();
        var pin = args.Required("--pin");
        var key = HexBytes.Parse(args.Required("--key"), "map delete", "--key");
        using var map = LoadedMap.OpenPinned(pin);
        CheckKey(map, key, "map delete");
        if (map.Type is BpfMapType.Array or BpfMapType.PerCpuArray)
            throw new InvalidOperationException($"map {map.Name} is an array: its entries cannot be deleted; write zeros with xdpc map update");
        var deleted = map.Delete(key);
        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["pin"] = pin,
                ["name"] = map.Name,
                ["key"] = Convert.ToHexStringLower(key),
                ["deleted"] = deleted,
            });
        }
        else if (deleted)
        {
            output.Out.WriteLine($"deleted {map.Name}[{Convert.ToHexStringLower(key)}]");
        }
        if (!deleted && !output.Json)
            output.Error.WriteLine($"xdpc: map delete: map {map.Name} has no key {Convert.ToHexStringLower(key)}");
        return deleted ? Cli.Success : Cli.Failure;
    }

    private static void CheckKey(LoadedMap map, byte[] key, string command)
    {
        if (key.Length != map.KeySize)
            throw new UsageException($"{command}: map {map.Name} has {map.KeySize}-byte keys; --key gave {key.Length} bytes");
    }

    /// <summary>The value as the kernel wants it: per-CPU maps take one 8-byte-aligned slot per possible CPU.</summary>
    private static byte[] ValueBuffer(LoadedMap map, byte[] value)
    {
        if (!map.IsPerCpu)
        {
            if (value.Length != map.ValueSize)
                throw new UsageException($"map update: map {map.Name} has {map.ValueSize}-byte values; --value gave {value.Length} bytes");
            return value;
        }
        var cpus = map.ValueBufferSize / map.PerCpuValueStride;
        if (value.Length != map.ValueSize && value.Length != map.ValueSize * cpus)
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"map update: per-CPU map {map.Name} wants {map.ValueSize} bytes (every CPU) or {map.ValueSize * cpus} bytes ({cpus} CPUs × {map.ValueSize}); --value gave {value.Length}"));
        }
        var buffer = new byte[map.ValueBufferSize];
        for (var cpu = 0; cpu < cpus; cpu++)
        {
            var source = value.Length == map.ValueSize ? value.AsSpan() : value.AsSpan(cpu * map.ValueSize, map.ValueSize);
            source.CopyTo(buffer.AsSpan(cpu * map.PerCpuValueStride));
        }
        return buffer;
    }
}

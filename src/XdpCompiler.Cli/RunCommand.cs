using System.Globalization;
using System.Text.Json.Nodes;
using XdpCompiler.Runtime;

namespace XdpCompiler.Cli;

internal static class RunCommand
{
    public static Command Command { get; } = new("run", """
        Usage: xdpc run FILE.o [--program NAME] --packet HEX|@FILE [--repeat N] [--json]

        Loads the program (maps unpinned and empty), runs it on one packet with BPF_PROG_TEST_RUN and prints the
        action it returned, the kernel's average time per run and the packet as the program left it.

          --program NAME  the XDP program (optional when the object has only one)
          --packet HEX    the packet bytes in hex ("ffffffffffff…"; spaces, ':' and '-' are ignored)
          --packet @FILE  the packet bytes read raw from FILE
          --repeat N      run N times; the duration is the average (default 1)
          --json          {program, action, returnValue, durationNanoseconds, repeat, packet}
        """, [], ["--program", "--packet", "--repeat"], Execute);

    private static int Execute(Arguments args, Output output)
    {
        var path = args.Single("FILE.o");
        var packet = Packet(args.Required("--packet"));
        var repeat = args.UInt("--repeat", 1);
        if (repeat == 0)
            throw new UsageException("run: --repeat must be at least 1");
        var obj = ObjectFiles.Unpinned(ObjectFiles.Read(path));
        var program = ObjectFiles.Program(obj, args.Option("--program"), "run");
        using var loaded = BpfObjectLoader.Load(ObjectFiles.Only(obj, program));
        output.Warnings(loaded.Warnings);
        var result = loaded.Program(program.Name).TestRun(packet, repeat);
        var action = Enum.IsDefined(result.Action) ? "XDP_" + result.Action.ToString().ToUpperInvariant() : $"unknown ({result.ReturnValue})";
        var hex = Convert.ToHexStringLower(result.Packet);
        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["program"] = program.Name,
                ["action"] = action,
                ["returnValue"] = result.ReturnValue,
                ["durationNanoseconds"] = result.DurationNanoseconds,
                ["repeat"] = result.Repeat,
                ["packetLength"] = result.Packet.Length,
                ["packet"] = hex,
                ["warnings"] = new JsonArray(loaded.Warnings.Select(w => (JsonNode?)w).ToArray()),
            });
            return Cli.Success;
        }
        output.Out.WriteLine($"program:  {program.Name}");
        output.Out.WriteLine($"action:   {action} ({result.ReturnValue})");
        output.Out.WriteLine($"duration: {result.DurationNanoseconds} ns" + (result.Repeat > 1 ? $" (average of {result.Repeat} runs)" : ""));
        output.Out.WriteLine($"packet:   {result.Packet.Length} bytes" + (result.Packet.AsSpan().SequenceEqual(packet) ? ", unchanged" : ", changed"));
        for (var offset = 0; offset < hex.Length; offset += 64)
            output.Out.WriteLine($"  {offset / 2:x4}  {hex.Substring(offset, Math.Min(64, hex.Length - offset))}");
        return Cli.Success;
    }

    internal static byte[] Packet(string text)
    {
        byte[] bytes;
        if (text.StartsWith('@'))
        {
            var file = text[1..];
            if (!File.Exists(file))
                throw new FileNotFoundException($"no such packet file: {file}");
            bytes = File.ReadAllBytes(file);
        }
        else
        {
            var hex = new string(text.Where(c => c is not (' ' or ':' or '-' or '\t')).ToArray());
            if (hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
                hex = hex[2..];
            if (hex.Length % 2 != 0 || !hex.All(char.IsAsciiHexDigit))
                throw new UsageException($"run: --packet wants hex bytes (an even number of 0-9a-f digits) or @FILE, not '{Shorten(text)}'");
            bytes = Convert.FromHexString(hex);
        }
        // The kernel wants at least an Ethernet header for an XDP test run.
        if (bytes.Length < 14)
            throw new UsageException($"run: the packet is {bytes.Length.ToString(CultureInfo.InvariantCulture)} bytes; XDP test runs need at least 14 (an Ethernet header)");
        return bytes;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}

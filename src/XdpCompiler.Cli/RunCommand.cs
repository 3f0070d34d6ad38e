using System.Globalization;
using System.Text.Json.Nodes;
using XdpCompiler.Runtime;

namespace XdpCompiler.Cli;

internal static class RunCommand
{
    public static Command Command { get; } = new("run", """
        Usage: xdpc run FILE.o [--program NAME] --packet HEX|@FILE [--repeat N]
                        [--ingress IF] [--queue N] [--metadata HEX] [--json]

        Loads the program (maps unpinned and empty), runs it on one packet with BPF_PROG_TEST_RUN and prints the
        action it returned, the kernel's average time per run and the packet as the program left it.

          --program NAME  the XDP program (optional when the object has only one)
          --packet HEX    the packet bytes in hex ("ffffffffffff…"; spaces, ':' and '-' are ignored)
          --packet @FILE  the packet bytes read raw from FILE
          --repeat N      run N times; the duration is the average (default 1)
          --ingress IF    the interface the packet "arrived" on (ctx->ingress_ifindex; default: loopback)
          --queue N       its receive queue (ctx->rx_queue_index; needs --ingress)
          --metadata HEX  metadata in front of the packet (data_meta..data: a multiple of 4 bytes, at most 32);
                          the output then starts with the metadata as the program left it
          --json          {program, action, returnValue, durationNanoseconds, repeat, packet, metadataLength}
        """, [], ["--program", "--packet", "--repeat", "--ingress", "--queue", "--metadata"], Execute);

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
        var context = Context(args);
        var result = context is null
            ? loaded.Program(program.Name).TestRun(packet, repeat)
            : loaded.Program(program.Name).TestRun(packet, context, repeat);
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
                ["metadataLength"] = result.MetadataLength,
                ["warnings"] = new JsonArray(loaded.Warnings.Select(w => (JsonNode?)w).ToArray()),
            });
            return Cli.Success;
        }
        output.Out.WriteLine($"program:  {program.Name}");
        output.Out.WriteLine($"action:   {action} ({result.ReturnValue})");
        output.Out.WriteLine($"duration: {result.DurationNanoseconds} ns" + (result.Repeat > 1 ? $" (average of {result.Repeat} runs)" : ""));
        if (result.MetadataLength is > 0 and var metadata)
            output.Out.WriteLine($"metadata: {metadata} bytes (the first {metadata} below)");
        output.Out.WriteLine($"packet:   {result.Packet.Length - (result.MetadataLength ?? 0)} bytes" +
            (result.Packet.AsSpan(result.MetadataLength ?? 0).SequenceEqual(packet) ? ", unchanged" : ", changed"));
        for (var offset = 0; offset < hex.Length; offset += 64)
            output.Out.WriteLine($"  {offset / 2:x4}  {hex.Substring(offset, Math.Min(64, hex.Length - offset))}");
        return Cli.Success;
    }

    /// <summary>The test run's input context, when any of its options is given.</summary>
    private static XdpTestContext? Context(Arguments args)
    {
        var ingress = args.Option("--ingress");
        var queue = args.Option("--queue");
        var metadata = args.Option("--metadata");
        if (ingress is null && queue is null && metadata is null)
            return null;
        if (queue is not null && ingress is null)
            throw new UsageException("run: --queue needs --ingress (a receive queue belongs to an interface)");
        var bytes = metadata is null ? [] : HexBytes.Parse(metadata, "run", "--metadata", allowEmpty: true);
        if (bytes.Length % 4 != 0 || bytes.Length > 32)
            throw new UsageException($"run: --metadata is a multiple of 4 bytes, at most 32; this is {bytes.Length.ToString(CultureInfo.InvariantCulture)}");
        return new XdpTestContext
        {
            IngressInterfaceIndex = ingress is null ? 0 : NetworkInterfaces.IndexOf(ingress),
            RxQueueIndex = args.UInt("--queue", 0),
            Metadata = bytes,
        };
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
            bytes = HexBytes.Parse(text, "run", "--packet", allowEmpty: true, alternative: "@FILE");
        }
        // The kernel wants at least an Ethernet header for an XDP test run.
        if (bytes.Length < 14)
            throw new UsageException($"run: the packet is {bytes.Length.ToString(CultureInfo.InvariantCulture)} bytes; XDP test runs need at least 14 (an Ethernet header)");
        return bytes;
    }
}

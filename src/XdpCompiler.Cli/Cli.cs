using System.Text.Json;
using System.Text.Json.Nodes;
using XdpCompiler.Runtime;
using XdpCompiler.Runtime.Elf;

namespace XdpCompiler.Cli;

/// <summary>
/// The xdpc entry point, callable in-process: <see cref="Run"/> parses, runs one command and returns its exit code.
/// Every failure becomes one line on <c>stderr</c> naming its cause; no stack trace reaches the user.
/// </summary>
public static class Cli
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;

    internal const string MainHelp = """
        xdpc — inspect, verify, run and attach XDP programs in BPF ELF objects (ours or clang's).

        Usage: xdpc COMMAND [ARGS] [--json]

        Commands:
          disasm FILE.o       list each program's instructions with its source lines
          verify FILE.o       load each program into the kernel verifier (nothing is attached)
          run FILE.o          run a program once on a packet (BPF_PROG_TEST_RUN)
          attach FILE.o       attach a program to an interface and pin the link
          detach              detach a pinned link
          list                show which XDP programs are attached to which interfaces
          load FILE.o         load every program and map and pin them in bpffs (nothing is attached)
          map dump            print the entries of a pinned map
          map update          write one entry of a pinned map
          map delete          remove one entry of a pinned map

        Every command takes --json (machine-readable output) and --help.
        Exit codes: 0 success, 1 failure or rejection, 2 usage error.
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (args.Length == 0)
        {
            stderr.WriteLine("xdpc: missing command (see xdpc --help)");
            return Usage;
        }
        if (args[0] is "--help" or "-h" or "help")
        {
            stdout.WriteLine(MainHelp);
            return Success;
        }

        var name = args[0];
        var rest = args.Skip(1).ToArray();
        if (name == "map")
        {
            if (rest.Length == 0)
            {
                stderr.WriteLine("xdpc: map: missing subcommand (see xdpc map --help)");
                return Usage;
            }
            if (rest[0] is "--help" or "-h")
            {
                stdout.WriteLine(MapCommands.Help);
                return Success;
            }
            if (rest[0] is not ("dump" or "update" or "delete"))
            {
                stderr.WriteLine($"xdpc: unknown map command '{rest[0]}' (see xdpc map --help)");
                return Usage;
            }
            name = "map " + rest[0];
            rest = rest.Skip(1).ToArray();
        }

        Command? command = Commands.Find(name);
        if (command is null)
        {
            stderr.WriteLine($"xdpc: unknown command '{name}' (see xdpc --help)");
            return Usage;
        }
        if (rest.Any(a => a is "--help" or "-h"))
        {
            stdout.WriteLine(command.Help);
            return Success;
        }

        try
        {
            var parsed = Arguments.Parse(name, rest, ["--json", .. command.Flags], command.Options);
            var output = new Output(stdout, stderr, parsed.Flag("--json"));
            return command.Execute(parsed, output);
        }
        catch (UsageException e)
        {
            stderr.WriteLine("xdpc: " + e.Message);
            return Usage;
        }
        catch (Exception e) when (IsExpected(e))
        {
            stderr.WriteLine($"xdpc: {name}: {OneLine(e)}");
            return Failure;
        }
        catch (Exception e)
        {
            // Not a failure we foresaw: still one line, but with its type so a bug report says what broke.
            stderr.WriteLine($"xdpc: {name}: internal error ({e.GetType().Name}): {OneLine(e)}");
            return Failure;
        }
    }

    private static bool IsExpected(Exception e) => e is BpfException or BpfObjectFormatException or IOException
        or UnauthorizedAccessException or InvalidOperationException or KeyNotFoundException or NotSupportedException
        or ArgumentException or FormatException or InvalidDataException;

    internal static string OneLine(Exception e) => e.Message.ReplaceLineEndings(" ").Trim();
}

/// <summary>One subcommand: its grammar, its help and what it does.</summary>
internal sealed record Command(string Name, string Help, string[] Flags, string[] Options, Func<Arguments, Output, int> Execute);

internal static class Commands
{
    private static readonly Command[] All =
    [
        DisasmCommand.Command,
        VerifyCommand.Command,
        RunCommand.Command,
        LinkCommands.Attach,
        LinkCommands.Detach,
        LinkCommands.List,
        LoadCommand.Command,
        MapCommands.Dump,
        MapEditCommands.Update,
        MapEditCommands.Delete,
    ];

    public static Command? Find(string name) => All.FirstOrDefault(c => c.Name == name);
}

/// <summary>Where a command writes: text for people, or one JSON document with <c>--json</c>.</summary>
internal sealed class Output(TextWriter stdout, TextWriter stderr, bool json)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public TextWriter Out { get; } = stdout;

    public TextWriter Error { get; } = stderr;

    public bool Json { get; } = json;

    public void WriteJson(JsonNode node) => Out.WriteLine(node.ToJsonString(Indented));

    /// <summary>Load warnings go to stderr in text mode (they are not the result) and into the document with --json.</summary>
    public void Warnings(IEnumerable<string> warnings)
    {
        if (Json)
            return;
        foreach (var warning in warnings)
            Error.WriteLine("xdpc: warning: " + warning);
    }
}

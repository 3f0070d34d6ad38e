namespace XdpCompiler.Benchmarks;

/// <summary>The command line of the runtime mode: <c>runtime [--cycles N] [--object NAME] [--ops N] [--runs N] [--tool-ops N]</c>.</summary>
internal sealed record RuntimeOptions(int Cycles, string Object, int Ops, int Runs, int ToolOps)
{
    public const string Usage =
        "usage: dotnet run -c Release --project tests/XdpCompiler.Benchmarks -- runtime [--cycles N] [--object NAME] [--ops N] [--runs N] [--tool-ops N]\n" +
        "  --cycles N     timed load/attach/detach/unload cycles per loader, object and mode (default 50)\n" +
        "  --object NAME  the program whose object (ours and its C twin's) is loaded and attached (default DropUdpAtomic)\n" +
        "  --ops N        map operations of each kind per timing run (default 100000)\n" +
        "  --runs N       map timing runs per side; the median is reported (default 5)\n" +
        "  --tool-ops N   bpftool map operations of each kind, one process each (default 20)";

    public static RuntimeOptions Parse(string[] args)
    {
        var cycles = 50;
        var obj = "DropUdpAtomic";
        var ops = 100_000;
        var runs = 5;
        var toolOps = 20;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value.");
            int Positive(string option) => int.TryParse(Value(), out var n) && n > 0 ? n : throw new UsageException($"{option} takes a positive integer.");
            switch (args[i])
            {
                case "--cycles":
                    cycles = Positive("--cycles");
                    break;
                case "--object":
                    obj = Value();
                    break;
                case "--ops":
                    ops = Positive("--ops");
                    break;
                case "--runs":
                    runs = Positive("--runs");
                    break;
                case "--tool-ops":
                    toolOps = Positive("--tool-ops");
                    break;
                default:
                    throw new UsageException($"unknown argument '{args[i]}'.");
            }
        }
        return new RuntimeOptions(cycles, obj, ops, runs, toolOps);
    }
}

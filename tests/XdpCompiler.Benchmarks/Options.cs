namespace XdpCompiler.Benchmarks;

/// <summary>The command line: <c>[--repeat N] [--programs a,b] [--runs N] [--placements N] [--packets N] [--keep DIR] [--cpu v3|v4]</c>.</summary>
internal sealed record Options(uint Repeat, IReadOnlyList<string>? Programs, int Runs, int CheckPackets, string? Keep, string Cpu = "v3", int Placements = 8)
{
    public const string Usage =
        "usage: dotnet run -c Release --project tests/XdpCompiler.Benchmarks -- [--repeat N] [--programs A,B] [--runs N] [--placements N] [--packets N] [--keep DIR] [--cpu v3|v4]\n" +
        "  --repeat N     BPF_PROG_TEST_RUN repeat count per timing run (default 1000000)\n" +
        "  --programs A,B only these programs (names of tests/XdpCompiler.Generator.Tests/Programs/*.cs with a C twin)\n" +
        "  --runs N       timing runs per program and compiler; the median is reported (default 5)\n" +
        "  --placements N fresh loads of each object a timing run averages over (the kernel places each JIT image at random; default 8)\n" +
        "  --packets N    random packets for the self-check per program (default 2000)\n" +
        "  --keep DIR     also write both objects there (NAME.ours.o, NAME.clang.o) for llvm-objdump-19 -d\n" +
        "  --cpu v3|v4    instruction set for both compilers: our XdpCpu and clang's -mcpu (default v3)";

    public static Options Parse(string[] args)
    {
        uint repeat = 1_000_000;
        IReadOnlyList<string>? programs = null;
        var runs = 5;
        var placements = 8;
        var packets = 2000;
        string? keep = null;
        var cpu = "v3";
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--repeat":
                    repeat = uint.TryParse(Value(), out var r) && r > 0 ? r : throw new UsageException("--repeat takes a positive integer.");
                    break;
                case "--programs":
                    programs = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    break;
                case "--runs":
                    runs = int.TryParse(Value(), out var n) && n > 0 ? n : throw new UsageException("--runs takes a positive integer.");
                    break;
                case "--placements":
                    placements = int.TryParse(Value(), out var l) && l > 0 ? l : throw new UsageException("--placements takes a positive integer.");
                    break;
                case "--packets":
                    packets = int.TryParse(Value(), out var p) && p > 0 ? p : throw new UsageException("--packets takes a positive integer.");
                    break;
                case "--keep":
                    keep = Value();
                    break;
                case "--cpu":
                    cpu = Value();
                    if (cpu is not ("v3" or "v4"))
                        throw new UsageException("--cpu takes v3 or v4.");
                    break;
                default:
                    throw new UsageException($"unknown argument '{args[i]}'.");
            }
        }
        return new Options(repeat, programs, runs, packets, keep, cpu, placements);
    }
}

internal sealed class UsageException(string message) : Exception(message);

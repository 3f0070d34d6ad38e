using System.Globalization;

namespace XdpCompiler.Benchmarks;

/// <summary>The tables: per program, per object (compile time), geometric means, and the issue's targets.</summary>
internal static class Report
{
    // The targets from the project's issue: code no larger than clang's on average, at most 25% larger anywhere, and
    // no slower on average.
    private const double InstructionGeomeanTarget = 1.00, InstructionWorstTarget = 1.25, NsGeomeanTarget = 1.00;

    public static void Print(IReadOnlyList<ObjectResult> results, Options options)
    {
        Console.WriteLine();
        if (results.Count == 0)
        {
            Console.WriteLine("No program was measured.");
            return;
        }

        var programs = results.SelectMany(o => o.Programs.Select(p => (Object: o.Name, Program: p))).ToList();
        var table = new Table("object/program", "insns ours", "clang", "ratio", "verifier ours", "clang", "ratio", "ns/pkt ours", "clang", "ratio");
        foreach (var (obj, p) in programs)
        {
            table.Add($"{obj}/{p.Name}", N(p.OurInstructions), N(p.ClangInstructions), R(p.InstructionRatio),
                N(p.OurProcessed), N(p.ClangProcessed), R(p.ProcessedRatio), F(p.OurNs, 1), F(p.ClangNs, 1), R(p.NsRatio));
        }
        var instructionGeomean = Stats.GeometricMean(programs.Select(p => p.Program.InstructionRatio));
        var processedGeomean = Stats.GeometricMean(programs.Select(p => p.Program.ProcessedRatio));
        var nsGeomean = Stats.GeometricMean(programs.Select(p => p.Program.NsRatio));
        var worst = programs.MaxBy(p => p.Program.InstructionRatio);
        table.Separator();
        table.Add("geometric mean", "", "", R(instructionGeomean), "", "", R(processedGeomean), "", "", R(nsGeomean));
        table.Add("worst", "", "", R(worst.Program.InstructionRatio), "", "", R(programs.Max(p => p.Program.ProcessedRatio)), "", "",
            R(programs.Max(p => p.Program.NsRatio)));
        table.Print();

        Console.WriteLine();
        var compile = new Table("object", "compile ms ours", "clang-19", "ratio");
        foreach (var o in results)
            compile.Add(o.Name, F(o.OurMs, 2), F(o.ClangMs, 1), R(o.OurMs / o.ClangMs));
        compile.Separator();
        compile.Add("geometric mean", F(Stats.GeometricMean(results.Select(o => o.OurMs)), 2), F(Stats.GeometricMean(results.Select(o => o.ClangMs)), 1),
            R(Stats.GeometricMean(results.Select(o => o.OurMs / o.ClangMs))));
        compile.Print();

        Console.WriteLine();
        Console.WriteLine("Targets (ratio = ours / clang's; lower is better):");
        Target("instruction count, geometric mean", instructionGeomean, InstructionGeomeanTarget);
        Target($"instruction count, worst ({worst.Object}/{worst.Program.Name})", worst.Program.InstructionRatio, InstructionWorstTarget);
        Target("ns/packet, geometric mean", nsGeomean, NsGeomeanTarget);
        // The same mean within each timing run alone: how far one run's draw of machine noise and JIT placements
        // moves it, which the median above smooths but does not remove.
        var perRun = Enumerable.Range(0, options.Runs).Select(run => Stats.GeometricMean(programs.Select(p => p.Program.RunRatio(run)))).ToList();
        Console.WriteLine($"        ns/packet geometric mean of each run alone: {string.Join(" ", perRun.Select(r => r.ToString("F3", CultureInfo.InvariantCulture)))}");
        Console.WriteLine();
        Console.WriteLine($"insns: instruction slots in the ELF (ld_imm64 = 2); verifier: the kernel's \"processed N insns\"; " +
            $"ns/pkt: BPF_PROG_TEST_RUN average per run over {options.Repeat:N0} repeats on a 74-byte IPv4/UDP packet, " +
            $"median of {options.Runs} runs, each the mean over {options.Placements} fresh loads of each object.");
        Console.WriteLine("compile ms: ours = ObjectCompiler.CompileAll on a bound compilation (warm, in process); clang = the whole clang-19 process.");
    }

    // Three decimals: a geometric mean of 1.004 misses the target, and "1.00" would not say why.
    private static void Target(string what, double value, double target) =>
        Console.WriteLine($"  {(value <= target ? "PASS" : "MISS")}  {what}: {value.ToString("F3", CultureInfo.InvariantCulture)} (target <= {R(target)})");

    private static string N(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string F(double value, int decimals) => value.ToString("F" + decimals, CultureInfo.InvariantCulture);

    private static string R(double value) => value.ToString("F2", CultureInfo.InvariantCulture);

    /// <summary>Text columns: the first left-aligned, the rest right-aligned.</summary>
    internal sealed class Table(params string[] headers)
    {
        private readonly List<string[]?> _rows = [];

        public void Add(params string[] cells) => _rows.Add(cells);

        public void Separator() => _rows.Add(null);

        public void Print()
        {
            var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Where(r => r is not null).Select(r => r![i].Length).DefaultIfEmpty(0).Max())).ToArray();
            string Line(string[] cells) => string.Join("  ", cells.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd();
            var rule = new string('-', widths.Sum() + 2 * (widths.Length - 1));
            Console.WriteLine(Line(headers));
            Console.WriteLine(rule);
            foreach (var row in _rows)
                Console.WriteLine(row is null ? rule : Line(row));
        }
    }
}

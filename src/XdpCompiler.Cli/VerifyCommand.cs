using System.Text.Json.Nodes;
using XdpCompiler.Runtime;

namespace XdpCompiler.Cli;

internal static class VerifyCommand
{
    public static Command Command { get; } = new("verify", """
        Usage: xdpc verify FILE.o [--program NAME] [--log] [--json]

        Loads each XDP program of the object into the kernel, one at a time, and unloads it again: nothing is attached
        and no map is pinned. Prints OK with the verifier's statistics, or for a rejected program the source line
        (file:line:column), the verifier's reason and what it most likely means. Exit code 1 when any is rejected.

          --program NAME  only this program
          --log           print the verifier's whole log for rejected programs
          --json          {file, ok, programs: [{name, ok, stats | rejection}], warnings}
        """, ["--log"], ["--program"], Execute);

    private static int Execute(Arguments args, Output output)
    {
        var path = args.Single("FILE.o");
        var withLog = args.Flag("--log");
        var obj = ObjectFiles.Unpinned(ObjectFiles.Read(path));
        var programs = args.Option("--program") is { } name
            ? [ObjectFiles.Program(obj, name, "verify")]
            : obj.Programs.Where(p => p.IsXdp).ToList();
        if (programs.Count == 0)
            throw new InvalidOperationException($"object {obj.Name} has no XDP program to verify");

        var results = new JsonArray();
        var warnings = new List<string>();
        var rejected = 0;
        foreach (var program in programs)
        {
            try
            {
                using var loaded = BpfObjectLoader.Load(ObjectFiles.Only(obj, program), new BpfObjectLoadOptions { CollectVerifierStats = true });
                warnings.AddRange(loaded.Warnings.Where(w => !warnings.Contains(w)));
                var stats = loaded.Program(program.Name).VerifierStats;
                if (output.Json)
                {
                    results.Add(new JsonObject
                    {
                        ["name"] = program.Name,
                        ["ok"] = true,
                        ["instructions"] = program.Instructions.Length,
                        ["stats"] = stats is null ? null : new JsonObject
                        {
                            ["processedInstructions"] = stats.ProcessedInstructions,
                            ["totalStates"] = stats.TotalStates,
                            ["peakStates"] = stats.PeakStates,
                            ["maxStatesPerInstruction"] = stats.MaxStatesPerInstruction,
                            ["verificationMicroseconds"] = stats.VerificationTime is { } t ? (long)t.TotalMicroseconds : null,
                        },
                    });
                }
                else
                {
                    var detail = stats is null
                        ? ""
                        : $"; verifier processed {stats.ProcessedInstructions} insns, {stats.TotalStates} states (peak {stats.PeakStates})"
                          + (stats.VerificationTime is { } time ? $" in {(long)time.TotalMicroseconds} us" : "");
                    output.Out.WriteLine($"{program.Name}: OK ({program.Instructions.Length} instructions{detail})");
                }
            }
            catch (BpfVerifierException e)
            {
                rejected++;
                if (output.Json)
                    results.Add(Rejection(program.Name, e, withLog));
                else
                    WriteRejection(output.Out, program.Name, e, withLog);
            }
        }

        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["file"] = path,
                ["ok"] = rejected == 0,
                ["programs"] = results,
                ["warnings"] = new JsonArray(warnings.Select(w => (JsonNode?)w).ToArray()),
            });
        }
        else
        {
            output.Warnings(warnings);
        }
        return rejected == 0 ? Cli.Success : Cli.Failure;
    }

    private static void WriteRejection(TextWriter w, string program, BpfVerifierException e, bool withLog)
    {
        var where = e.SourceLine is { } s ? $"{s.File}:{s.Line}:{s.Column}: " : "";
        var at = e.InstructionIndex is { } index ? $" at instruction {index}" + (e.InstructionText is null ? "" : $" ({e.InstructionText})") : "";
        w.WriteLine($"{where}error: {program}: rejected by the verifier{at}: {e.VerifierMessage ?? "(the log gives no reason)"} [{e.ErrnoName}]");
        if (e.SourceLine is { LineText.Length: > 0 } line)
            w.WriteLine($"  source: {line.LineText.Trim()}");
        if (e.Explanation is { } explanation)
            w.WriteLine($"  likely: {explanation}");
        if (e.Hint is { } hint)
            w.WriteLine($"  hint: {hint}");
        if (withLog)
        {
            w.WriteLine("  verifier log:");
            foreach (var logLine in e.Log.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n'))
                w.WriteLine("    " + logLine);
        }
        else
        {
            w.WriteLine("  (--log prints the verifier's whole log)");
        }
    }

    private static JsonObject Rejection(string program, BpfVerifierException e, bool withLog) => new()
    {
        ["name"] = program,
        ["ok"] = false,
        ["rejection"] = new JsonObject
        {
            ["file"] = e.SourceLine?.File,
            ["line"] = e.SourceLine?.Line,
            ["column"] = e.SourceLine?.Column,
            ["source"] = e.SourceLine?.LineText,
            ["instruction"] = e.InstructionIndex,
            ["instructionText"] = e.InstructionText,
            ["reason"] = e.VerifierMessage,
            ["explanation"] = e.Explanation,
            ["errno"] = e.ErrnoName,
            ["log"] = withLog ? e.Log : null,
        },
    };
}

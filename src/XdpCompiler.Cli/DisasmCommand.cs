using System.Text.Json.Nodes;
using XdpCompiler.Core.Bpf;

namespace XdpCompiler.Cli;

internal static class DisasmCommand
{
    public static Command Command { get; } = new("disasm", """
        Usage: xdpc disasm FILE.o [--section SECTION] [--program NAME] [--no-source] [--json]

        Lists each program of the object: its instructions, relocations and, where the object has line info, the
        source line (C# for objects XdpCompiler built) before the instructions it compiled to.

          --section SECTION  only programs in this ELF section (e.g. xdp)
          --program NAME     only this program
          --no-source        leave out source lines
          --json             {file, programs: [{name, section, instructions, listing, lines: [...]}]}
        """, ["--no-source"], ["--section", "--program"], Execute);

    private static int Execute(Arguments args, Output output)
    {
        var path = args.Single("FILE.o");
        var section = args.Option("--section");
        var name = args.Option("--program");
        var noSource = args.Flag("--no-source");
        var obj = ObjectFiles.Read(path);
        var programs = obj.Programs
            .Where(p => section is null || p.Section == section)
            .Where(p => name is null || p.Name == name)
            .ToList();
        if (programs.Count == 0)
        {
            var filter = string.Join(" and ", new[] { section is null ? null : $"section '{section}'", name is null ? null : $"name '{name}'" }.OfType<string>());
            var available = string.Join(", ", obj.Programs.Select(p => $"{p.Name} ({p.Section})"));
            throw new KeyNotFoundException(filter.Length == 0
                ? $"object {obj.Name} has no programs"
                : $"object {obj.Name} has no program with {filter} (programs: {(available.Length == 0 ? "none" : available)})");
        }

        var json = new JsonArray();
        var first = true;
        foreach (var program in programs)
        {
            var options = DisassemblyOptions.ForProgram(program);
            options = options with { SourceLine = noSource ? null : SourceLines(program) };
            var listing = Disassembler.Disassemble(program.Instructions, options);
            if (output.Json)
            {
                var lines = new JsonArray();
                if (!noSource)
                {
                    foreach (var line in program.Lines.OrderBy(l => l.InstructionIndex))
                    {
                        lines.Add(new JsonObject
                        {
                            ["instruction"] = line.InstructionIndex,
                            ["file"] = line.File,
                            ["line"] = line.Line,
                            ["column"] = line.Column,
                            ["text"] = line.LineText,
                        });
                    }
                }
                json.Add(new JsonObject
                {
                    ["name"] = program.Name,
                    ["section"] = program.Section,
                    ["instructions"] = program.Instructions.Length,
                    ["listing"] = listing,
                    ["lines"] = lines,
                });
                continue;
            }
            if (!first)
                output.Out.WriteLine();
            first = false;
            output.Out.WriteLine($"{program.Name} (section {program.Section}, {program.Instructions.Length} instructions"
                + (program.Lines.IsDefaultOrEmpty ? ", no line info" : SourceFiles(program)) + ")");
            output.Out.Write(listing.EndsWith('\n') ? listing : listing + "\n");
        }
        if (output.Json)
            output.WriteJson(new JsonObject { ["file"] = path, ["programs"] = json });
        return Cli.Success;
    }

    /// <summary>
    /// Like <see cref="DisassemblyOptions.ForProgram"/>'s source lines (one where the line changes), with the file and
    /// line in front so a listing line can be found in the source.
    /// </summary>
    private static Func<int, string?> SourceLines(Core.Objects.BpfProgram program)
    {
        var lines = new Dictionary<int, string>();
        (string File, int Line)? previous = null;
        foreach (var line in program.Lines.OrderBy(l => l.InstructionIndex))
        {
            if (previous != (line.File, line.Line))
                lines[line.InstructionIndex] = $"{Path.GetFileName(line.File)}:{line.Line}: {line.LineText.Trim()}";
            previous = (line.File, line.Line);
        }
        return index => lines.GetValueOrDefault(index);
    }

    private static string SourceFiles(Core.Objects.BpfProgram program) =>
        ", source " + string.Join(", ", program.Lines.Select(l => l.File).Distinct());
}

using System.Text;
using System.Text.RegularExpressions;
using XdpCompiler.Core.Bpf;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Core.Tests.Disassembly;

/// <summary>
/// Our listing against llvm-objdump-19's, line for line, for objects clang-19 builds from the C sources beside this
/// file and from fuzzed instruction words. Each object is checked in every layout we mirror: with and without raw
/// bytes, with relocations (-r), with --mattr=+alu32, and with interleaved source (-S).
/// </summary>
public sealed class DisassemblerLlvmTests
{
    [LlvmTheory]
    [InlineData("alu.c", "v3")]
    [InlineData("alu.c", "v4")]
    [InlineData("memory.c", "v3")]
    [InlineData("memory.c", "v4")]
    [InlineData("control.c", "v3")]
    [InlineData("control.c", "v4")]
    [InlineData("v4.c", "v4")]
    public void MatchesLlvmObjdumpOnCompiledSource(string source, string cpu)
    {
        using var temp = new TempDirectory();
        var objectFile = LlvmTools.Compile(Path.Combine(LlvmTools.SourceDirectory(), source), temp.Path, cpu);
        var sections = LlvmTools.ReadCodeSections(objectFile, temp.Path);
        Assert.NotEmpty(sections);

        AssertAllLayoutsMatch(objectFile, sections, $"{source} -mcpu={cpu}");
    }

    [LlvmFact]
    public void EveryOpcodeWithEachFieldVariedMatchesLlvmObjdump()
    {
        using var temp = new TempDirectory();
        var source = Path.Combine(temp.Path, "opcodes.s");
        File.WriteAllText(source, FuzzCorpus.Systematic());
        var objectFile = LlvmTools.Compile(source, temp.Path, "v4");

        AssertAllLayoutsMatch(objectFile, LlvmTools.ReadCodeSections(objectFile, temp.Path), "every opcode");
    }

    [LlvmTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomInstructionWordsMatchLlvmObjdump(int seed)
    {
        using var temp = new TempDirectory();
        var source = Path.Combine(temp.Path, $"random{seed}.s");
        File.WriteAllText(source, FuzzCorpus.Random(seed, count: 3000));
        var objectFile = LlvmTools.Compile(source, temp.Path, "v4");

        AssertAllLayoutsMatch(objectFile, LlvmTools.ReadCodeSections(objectFile, temp.Path), $"random words, seed {seed}");
    }

    [LlvmFact]
    public void InterleavedSourceLinesMatchLlvmObjdumpSource()
    {
        // llvm-objdump -S takes the lines from DWARF; we take llvm's choice of lines and check we lay them out the same.
        using var temp = new TempDirectory();
        var objectFile = LlvmTools.Compile(Path.Combine(LlvmTools.SourceDirectory(), "control.c"), temp.Path, "v3", debugInfo: true);
        var sections = LlvmTools.ReadCodeSections(objectFile, temp.Path);
        var expected = LlvmTools.Run(LlvmTools.Objdump, "-d", "-S", "--no-show-raw-insn", objectFile);
        var sourceLines = SourceLinesByInstruction(expected);
        Assert.True(sourceLines.Count > 0, "llvm-objdump -S printed no source lines; was the object built with -g?");

        var actual = Listing(objectFile, sections, section => new DisassemblyOptions
        {
            ShowRawBytes = false,
            SectionName = section.Name,
            Symbols = section.Symbols,
            SourceLine = index => sourceLines.TryGetValue((section.Name, index), out var text) ? text : null,
        });
        Listings.AssertSameLines(expected, actual, "control.c -g, -d -S --no-show-raw-insn");
    }

    [LlvmFact]
    public void RelocationTypesDefaultToWhatClangEmits()
    {
        using var temp = new TempDirectory();
        var objectFile = LlvmTools.Compile(Path.Combine(LlvmTools.SourceDirectory(), "control.c"), temp.Path, "v3");
        var relocations = LlvmTools.ReadCodeSections(objectFile, temp.Path).SelectMany(s => s.Relocations.Select(r => (s, r))).ToList();

        Assert.Contains(relocations, x => x.r.Type == "R_BPF_64_64");
        Assert.Contains(relocations, x => x.r.Type == "R_BPF_64_32");
        foreach (var (section, relocation) in relocations)
        {
            var listing = Disassembler.Disassemble(section.Instructions, new DisassemblyOptions
            {
                Relocations = [relocation with { Type = null }],
            });
            Assert.Contains($":  {relocation.Type}\t{relocation.Symbol}\n", listing, StringComparison.Ordinal);
        }
    }

    private static void AssertAllLayoutsMatch(string objectFile, IReadOnlyList<CodeSection> sections, string what)
    {
        Check("-d", section => Options(section));
        Check("-d --no-show-raw-insn", section => Options(section) with { ShowRawBytes = false });
        Check("-d -r --no-show-raw-insn", section => Options(section) with { ShowRawBytes = false, Relocations = section.Relocations });
        Check("-d -r", section => Options(section) with { Relocations = section.Relocations });
        Check("-d --mattr=+alu32", section => Options(section) with { Alu32 = true });

        void Check(string flags, Func<CodeSection, DisassemblyOptions> options)
        {
            var expected = LlvmTools.Run(LlvmTools.Objdump, [.. flags.Split(' '), objectFile]);
            Listings.AssertSameLines(expected, Listing(objectFile, sections, options), $"{what}, {flags}");
        }

        static DisassemblyOptions Options(CodeSection section) => new()
        {
            SectionName = section.Name,
            Symbols = section.Symbols,
        };
    }

    /// <summary>Our listing of the whole object, framed the way llvm-objdump frames one.</summary>
    private static string Listing(string objectFile, IReadOnlyList<CodeSection> sections, Func<CodeSection, DisassemblyOptions> options)
    {
        var text = new StringBuilder().Append('\n').Append(objectFile).Append(":\tfile format elf64-bpf\n");
        foreach (var section in sections)
            text.Append('\n').Append(Disassembler.Disassemble(section.Instructions, options(section)));
        return text.ToString();
    }

    /// <summary>The "; ..." lines llvm-objdump -S printed, keyed by the section and index of the instruction they precede.</summary>
    private static Dictionary<(string Section, int Index), string> SourceLinesByInstruction(string listing)
    {
        var result = new Dictionary<(string, int), string>();
        var pending = new List<string>();
        var section = "";
        foreach (var line in listing.Split('\n'))
        {
            var header = Regex.Match(line, "^Disassembly of section (.*):$");
            if (header.Success)
                section = header.Groups[1].Value;
            else if (line.StartsWith("; ", StringComparison.Ordinal))
                pending.Add(line[2..]);
            else if (Regex.Match(line, @"^\s*(\d+):\t") is { Success: true } instruction && pending.Count > 0)
            {
                result[(section, int.Parse(instruction.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))] = string.Join("\n", pending);
                pending.Clear();
            }
        }

        return result;
    }
}

using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using XdpCompiler.Core.Bpf;
using XdpCompiler.TestKit;

namespace XdpCompiler.Core.Tests.Disassembly;

/// <summary>
/// clang-19 and the LLVM 19 tools as the reference: build a BPF object, read a section's bytes (llvm-objcopy), its
/// symbols and relocations (llvm-objdump -t / -r), and llvm-objdump's own listing to compare ours with.
/// </summary>
internal static class LlvmTools
{
    public const string Clang = "clang-19";
    public const string Objdump = "llvm-objdump-19";
    public const string Objcopy = "llvm-objcopy-19";

    /// <summary>The C sources beside this file.</summary>
    public static string SourceDirectory([CallerFilePath] string thisFile = "") =>
        Path.Combine(Path.GetDirectoryName(thisFile)!, "Sources");

    /// <summary>Runs a tool and returns its standard output; a missing tool or a non-zero exit fails the test.</summary>
    public static string Run(string tool, params string[] arguments) => Tools.Run(tool, arguments).Output;

    /// <summary>Builds a C or assembly source for the BPF target.</summary>
    public static string Compile(string source, string outputDirectory, string cpu, bool debugInfo = false)
    {
        var output = Path.Combine(outputDirectory, $"{Path.GetFileNameWithoutExtension(source)}-{cpu}.o");
        var arguments = new List<string> { "-O2", "-target", "bpf", $"-mcpu={cpu}", "-c", source, "-o", output };
        if (debugInfo)
            arguments.Insert(0, "-g");
        Run(Clang, [.. arguments]);
        return output;
    }

    /// <summary>The sections llvm-objdump -d disassembles (executable, non-empty), in section-header order.</summary>
    public static IReadOnlyList<CodeSection> ReadCodeSections(string objectFile, string workDirectory)
    {
        var headers = Run(Objdump, "-h", objectFile);
        var symbols = ReadSymbols(objectFile);
        var relocations = ReadRelocations(objectFile);
        var sections = new List<CodeSection>();
        // "  3 xdp                    00000088 0000000000000000 TEXT"
        foreach (Match match in Regex.Matches(headers, @"^\s*(\d+) (\S+)\s+([0-9a-f]+) [0-9a-f]+ (.*)$", RegexOptions.Multiline))
        {
            var name = match.Groups[2].Value;
            var size = long.Parse(match.Groups[3].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (!match.Groups[4].Value.Contains("TEXT", StringComparison.Ordinal) || size == 0)
                continue;

            var binary = Path.Combine(workDirectory, $"{Path.GetFileName(objectFile)}.{match.Groups[1].Value}.bin");
            Run(Objcopy, "-O", "binary", $"--only-section={name}", objectFile, binary);
            var bytes = File.ReadAllBytes(binary);
            if (bytes.Length != size)
                throw new InvalidOperationException($"{Objcopy} wrote {bytes.Length} bytes of section {name} in {objectFile}; its header says {size}.");

            sections.Add(new CodeSection(
                name,
                Instruction.Decode(bytes),
                [.. symbols.Where(s => s.Section == name).Select(s => new DisassemblySymbol(ToIndex(s.Address, name), s.Name))],
                [.. relocations.Where(r => r.Section == name).Select(r => new DisassemblyRelocation(ToIndex(r.Offset, name), r.Symbol, r.Type))]));
        }

        return sections;
    }

    private static int ToIndex(long byteOffset, string section) => byteOffset % Instruction.Size == 0
        ? (int)(byteOffset / Instruction.Size)
        : throw new InvalidOperationException($"Offset 0x{byteOffset:x} in section {section} is not at an instruction boundary.");

    private static List<(string Section, long Address, string Name)> ReadSymbols(string objectFile)
    {
        // "0000000000000000 g     F xdp\t0000000000000088 f": address, seven flag columns, section, size, name.
        // Section symbols ('d') and file symbols ('f') are not labels; llvm-objdump -d leaves them out too.
        var result = new List<(string, long, string)>();
        foreach (Match match in Regex.Matches(Run(Objdump, "-t", objectFile), @"^([0-9a-f]{16}) (.{7}) (\S+)\t[0-9a-f]+ (.*)$", RegexOptions.Multiline))
        {
            var flags = match.Groups[2].Value;
            if (flags.Contains('d') || flags.Contains('f'))
                continue;
            result.Add((match.Groups[3].Value, long.Parse(match.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture), match.Groups[4].Value.TrimEnd('\r')));
        }

        return result;
    }

    private static List<(string Section, long Offset, string Type, string Symbol)> ReadRelocations(string objectFile)
    {
        var result = new List<(string, long, string, string)>();
        string? section = null;
        foreach (var line in Run(Objdump, "-r", objectFile).Split('\n'))
        {
            var header = Regex.Match(line, @"^RELOCATION RECORDS FOR \[(.*)\]:$");
            if (header.Success)
            {
                section = header.Groups[1].Value;
                continue;
            }

            var record = Regex.Match(line, @"^([0-9a-f]{16}) (\S+)\s+(.*)$");
            if (record.Success && section is not null)
                result.Add((section, long.Parse(record.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture), record.Groups[2].Value, record.Groups[3].Value.TrimEnd()));
        }

        return result;
    }
}

/// <summary>One executable section of a built object: its code and what llvm-objdump knows about it.</summary>
internal sealed record CodeSection(
    string Name,
    Instruction[] Instructions,
    IReadOnlyList<DisassemblySymbol> Symbols,
    IReadOnlyList<DisassemblyRelocation> Relocations);

internal static class Listings
{
    /// <summary>Fails with the first differing lines (and a little context) when the listings are not identical.</summary>
    public static void AssertSameLines(string expected, string actual, string what)
    {
        var expectedLines = expected.Split('\n');
        var actualLines = actual.Split('\n');
        var report = new StringBuilder();
        var differences = 0;
        for (var i = 0; i < Math.Max(expectedLines.Length, actualLines.Length); i++)
        {
            var e = i < expectedLines.Length ? expectedLines[i] : "<missing>";
            var a = i < actualLines.Length ? actualLines[i] : "<missing>";
            if (e == a)
                continue;
            if (++differences <= 12)
            {
                report.Append(CultureInfo.InvariantCulture, $"line {i + 1}:\n  llvm: {Visible(e)}\n  ours: {Visible(a)}\n");
                if (differences == 1 && i > 0)
                    report.Append(CultureInfo.InvariantCulture, $"  (previous line: {Visible(expectedLines[i - 1])})\n");
            }
        }

        if (differences > 0)
            Xunit.Assert.Fail($"{what}: {differences} of {expectedLines.Length} lines differ from llvm-objdump-19.\n{report}");
    }

    private static string Visible(string line) => line.Replace("\t", "\\t", StringComparison.Ordinal);
}

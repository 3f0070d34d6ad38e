using System.Text.RegularExpressions;

namespace XdpCompiler.Runtime;

/// <summary>What a verifier log says about a rejection: the instruction it stopped at and why.</summary>
public sealed record VerifierLogSummary(int? InstructionIndex, string? InstructionText, string? Message);

/// <summary>
/// Reads the kernel verifier's log (log level 1). The verifier prints each instruction it checks as
/// <c>12: (71) r3 = *(u8 *)(r2 +12)</c> and stops at the first it cannot prove safe, so the last printed instruction
/// is the failing one and the lines after it are the reason. Checks that run before the walk (the control-flow graph)
/// name the instruction in the message instead ("unreachable insn 7", "jump out of range from insn 3 to 9").
/// </summary>
public static partial class VerifierLog
{
    public static VerifierLogSummary Parse(string log)
    {
        var lines = log.Replace("\r\n", "\n").Split('\n').Select(l => l.TrimEnd()).ToList();
        while (lines.Count > 0 && (lines[^1].Length == 0 || IsStatistics(lines[^1])))
            lines.RemoveAt(lines.Count - 1);

        var last = -1;
        Match? instruction = null;
        for (var i = lines.Count - 1; i >= 0; i--)
        {
            var m = InstructionLine().Match(lines[i]);
            if (m.Success)
            {
                last = i;
                instruction = m;
                break;
            }
        }

        var messageLines = lines.Skip(last + 1).Where(l => l.Length > 0 && !StateLine().IsMatch(l)).ToList();
        if (last < 0 && messageLines.Count > 3)
            messageLines = messageLines.TakeLast(3).ToList();
        var message = messageLines.Count == 0 ? null : string.Join(" ", messageLines);

        if (instruction is not null)
            return new VerifierLogSummary(int.Parse(instruction.Groups[1].Value), instruction.Groups[2].Value.Trim(), message);

        var named = message is null ? Match.Empty : NamedInstruction().Match(message);
        return new VerifierLogSummary(named.Success ? int.Parse(named.Groups[1].Value) : null, null, message);
    }

    private static bool IsStatistics(string line) =>
        line.StartsWith("processed ", StringComparison.Ordinal)
        || line.StartsWith("verification time", StringComparison.Ordinal)
        || line.StartsWith("stack depth", StringComparison.Ordinal)
        || line.StartsWith("mark_precise", StringComparison.Ordinal);

    // "12: (71) r3 = *(u8 *)(r2 +12)" — the opcode in parentheses tells an instruction from a state dump ("12: R1=…").
    [GeneratedRegex(@"^(\d+): \([0-9a-f]{2}\) ?(.*)$")]
    private static partial Regex InstructionLine();

    // Register-state lines ("R1=ctx() R10=fp0", "; source line", "from 4 to 6: …") are context, not the reason.
    [GeneratedRegex(@"^(\d+: )?(R\d+(_[a-zA-Z]+)?=|;|from \d+ to \d+:|frame\d+:)")]
    private static partial Regex StateLine();

    [GeneratedRegex(@"\binsn (?:#)?(\d+)")]
    private static partial Regex NamedInstruction();
}

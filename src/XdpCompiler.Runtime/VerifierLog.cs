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
    /// <summary>
    /// One line on what a common rejection means for the program's source, or null for a reason not in the list. The
    /// patterns are the kernel's own messages (kernel/bpf/verifier.c), matched loosely so small wording changes pass.
    /// </summary>
    public static string? Explain(string? message)
    {
        // Only the reason: the rest of the log is full of register states ("R3=pkt_end()") that would match anything.
        var text = message ?? "";
        foreach (var (pattern, explanation) in Explanations)
        {
            if (pattern.IsMatch(text))
                return explanation;
        }

        return null;
    }

    private static readonly (Regex Pattern, string Explanation)[] Explanations =
    {
        (new Regex(@"GPL-restricted|cannot call GPL", RegexOptions.IgnoreCase),
            "a GPL-only kernel helper in a program whose license is not GPL-compatible: set [XdpLicense(\"GPL\")] (or \"Dual BSD/GPL\")"),
        (new Regex(@"invalid access to packet|offset is outside of the packet|invalid variable-offset.*pkt", RegexOptions.IgnoreCase),
            "a packet read or write the bounds checks do not cover: compare the pointer plus the access size with ctx.DataEnd first (and again after any variable offset or adjust_head/tail)"),
        (new Regex(@"map_value_or_null", RegexOptions.IgnoreCase),
            "a map value used without a null check: test the pointer Lookup returned (if (value == null) …) before dereferencing it"),
        (new Regex(@"back-edge|infinite loop|unbounded|loop is not bounded", RegexOptions.IgnoreCase),
            "a loop the verifier cannot prove ends: give it a constant bound (for (int i = 0; i < N; i++)) or mark the method [Unroll]"),
        (new Regex(@"combined stack size|stack depth \d+ exceeds|invalid (write|read) to stack.*off=-5\d\d|stack limit", RegexOptions.IgnoreCase),
            "more than 512 bytes of stack: fewer or smaller struct locals and stackalloc buffers, or keep the data in a per-CPU array map"),
        (new Regex(@"too large|too complex|BPF program is too large|complexity limit", RegexOptions.IgnoreCase),
            "the verifier's complexity limit (a million instructions explored): fewer branches inside loops, tighter loop bounds, or split the work"),
        (new Regex(@"arg\d+ type|expected=|type=\w+ expected|R\d+ type=", RegexOptions.IgnoreCase),
            "a helper received an argument of the wrong kind (for example a packet pointer where it wants a stack or map pointer)"),
        (new Regex(@"misaligned stack access", RegexOptions.IgnoreCase),
            "an unaligned read or write of stack memory (the verifier wants n-byte stack accesses at n-byte offsets): on a stack buffer use an aligned offset or copy bytewise; unaligned access is fine on packet and map memory"),
        (new Regex(@"invalid read from stack|uninit", RegexOptions.IgnoreCase),
            "a read of stack memory that was never written: initialise the local, struct or buffer completely first"),
    };

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

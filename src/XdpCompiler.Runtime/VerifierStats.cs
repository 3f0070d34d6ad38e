using System.Text.RegularExpressions;

namespace XdpCompiler.Runtime;

/// <summary>
/// What the kernel verifier reports about an accepted program when asked for statistics (log level
/// <c>BPF_LOG_STATS</c>): how much work the proof took, not what the program does.
/// </summary>
/// <param name="ProcessedInstructions">"processed N insns": instructions the verifier walked, counting each path again;
/// the number the kernel's one-million limit applies to.</param>
/// <param name="TotalStates">States the verifier stored for pruning.</param>
/// <param name="PeakStates">The most states it held at once.</param>
/// <param name="MaxStatesPerInstruction">The most states stored at one instruction.</param>
/// <param name="VerificationTime">The kernel's own measure of the verification, or null when the log had no time line.</param>
public sealed partial record VerifierStats(
    int ProcessedInstructions,
    int TotalStates,
    int PeakStates,
    int MaxStatesPerInstruction,
    TimeSpan? VerificationTime)
{
    /// <summary>Reads the statistics lines of a verifier log; null when the log has no "processed N insns" line.</summary>
    public static VerifierStats? Parse(string log)
    {
        ArgumentNullException.ThrowIfNull(log);
        // The walk may be logged too (log level 1|4); the statistics are the last lines, so read from the end.
        var processed = ProcessedLine().Matches(log).LastOrDefault();
        if (processed is null)
            return null;
        var time = TimeLine().Matches(log).LastOrDefault();
        return new VerifierStats(
            int.Parse(processed.Groups["insns"].Value),
            int.Parse(processed.Groups["total"].Value),
            int.Parse(processed.Groups["peak"].Value),
            int.Parse(processed.Groups["max"].Value),
            time is null ? null : TimeSpan.FromMicroseconds(long.Parse(time.Groups[1].Value)));
    }

    // "processed 13 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0"
    [GeneratedRegex(@"^processed (?<insns>\d+) insns \(limit \d+\) max_states_per_insn (?<max>\d+) total_states (?<total>\d+) peak_states (?<peak>\d+)", RegexOptions.Multiline)]
    private static partial Regex ProcessedLine();

    [GeneratedRegex(@"^verification time (\d+) usec", RegexOptions.Multiline)]
    private static partial Regex TimeLine();
}

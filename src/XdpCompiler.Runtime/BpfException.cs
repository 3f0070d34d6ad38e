using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime.Interop;

namespace XdpCompiler.Runtime;

/// <summary>What the runtime was doing when the kernel said no.</summary>
public enum BpfOperationKind
{
    BtfLoad,
    MapCreate,
    MapLookup,
    MapUpdate,
    MapDelete,
    MapIterate,
    ProgramLoad,
    TestRun,
    Attach,
    InterfaceLookup,
    ObjectInfo,
    Pin,
    Netlink,
    RingBuffer,
    Statistics,
}

/// <summary>
/// A kernel call failed. Carries the operation ("create map Drops"), the errno and its name, the map or program it
/// concerned, and what to do about it.
/// </summary>
public class BpfException : Exception
{
    public BpfException(BpfOperationKind kind, string operation, int errno, string? objectName, string? hint, Exception? innerException = null)
        : base(FormatMessage(operation, errno, hint), innerException)
    {
        Kind = kind;
        Operation = operation;
        Errno = errno;
        ObjectName = objectName;
        Hint = hint;
    }

    private protected BpfException(BpfOperationKind kind, string operation, int errno, string? objectName, string? hint, string message)
        : base(message)
    {
        Kind = kind;
        Operation = operation;
        Errno = errno;
        ObjectName = objectName;
        Hint = hint;
    }

    public BpfOperationKind Kind { get; }

    /// <summary>What was attempted, naming its object: "create map Drops", "attach program xdp_drop to eth0".</summary>
    public string Operation { get; }

    /// <summary>The positive errno the kernel returned.</summary>
    public int Errno { get; }

    /// <summary>"EPERM", "EINVAL", …</summary>
    public string ErrnoName => Interop.Errno.Name(Errno);

    /// <summary>The map, program, object or interface the operation concerned.</summary>
    public string? ObjectName { get; }

    /// <summary>What to do about it, when the errno says something specific.</summary>
    public string? Hint { get; }

    private static string FormatMessage(string operation, int errno, string? hint) =>
        $"{operation} failed: {Interop.Errno.Name(errno)} ({Interop.Errno.Describe(errno)})." + (hint is null ? "" : " " + hint);
}

/// <summary>
/// The verifier rejected a program. <see cref="Log"/> is the kernel's whole log at log level 1 (the runtime grows its
/// buffer until the log fits), and <see cref="InstructionIndex"/> the instruction it stopped at, parsed from the log.
/// </summary>
public sealed class BpfVerifierException : BpfException
{
    public BpfVerifierException(string programName, string operation, int errno, string log, string? hint = null)
        : this(programName, operation, errno, log, VerifierLog.Parse(log), hint)
    {
    }

    private BpfVerifierException(string programName, string operation, int errno, string log, VerifierLogSummary summary, string? hint,
        BpfLineInfo? source = null)
        : base(BpfOperationKind.ProgramLoad, operation, errno, programName, hint, FormatMessage(operation, errno, summary, hint, source))
    {
        Log = log;
        InstructionIndex = summary.InstructionIndex;
        InstructionText = summary.InstructionText;
        VerifierMessage = summary.Message;
        SourceLine = source;
        Explanation = VerifierLog.Explain(summary.Message);
        _summary = summary;
    }

    private readonly VerifierLogSummary _summary;

    /// <summary>
    /// The source line (C# for our objects, C for clang's) of the rejected instruction: the last line-info record at
    /// or before it. Null when the object has no line info or the log names no instruction.
    /// </summary>
    public BpfLineInfo? SourceLine { get; }

    /// <summary>This rejection, pointed at the source line that the failing instruction came from.</summary>
    public BpfVerifierException WithSource(IReadOnlyList<BpfLineInfo> lines)
    {
        if (InstructionIndex is not { } index || lines.Count == 0)
            return this;
        var source = lines.Where(l => l.InstructionIndex <= index).OrderBy(l => l.InstructionIndex).LastOrDefault();
        return source is null ? this : new BpfVerifierException(ObjectName ?? "", Operation, Errno, Log, _summary, Hint, source);
    }

    /// <summary>What the rejection most likely means for the source and what to change, for the common cases; else null.</summary>
    public string? Explanation { get; }

    /// <summary>The whole verifier log, never truncated.</summary>
    public string Log { get; }

    /// <summary>The index of the instruction the verifier rejected (in the loaded, relocated program), if the log names one.</summary>
    public int? InstructionIndex { get; }

    /// <summary>The verifier's rendering of that instruction ("r0 = *(u8 *)(r2 +12)"), if it printed one.</summary>
    public string? InstructionText { get; }

    /// <summary>The verifier's reason, the log's last lines before its statistics ("invalid access to packet, …").</summary>
    public string? VerifierMessage { get; }

    private static string FormatMessage(string operation, int errno, VerifierLogSummary summary, string? hint, BpfLineInfo? source)
    {
        var where = source is null ? "" : $"{source.File}({source.Line},{source.Column}): ";
        var line = source is null || source.LineText.Length == 0 ? "" : $" Source: {source.LineText}";
        var explanation = VerifierLog.Explain(summary.Message) is { } e ? " Likely: " + e + "." : "";
        var at = summary.InstructionIndex is { } index
            ? $" at instruction {index}" + (summary.InstructionText is null ? "" : $" ({summary.InstructionText})")
            : "";
        var reason = summary.Message is null ? "" : ": " + summary.Message;
        return $"{where}{operation} failed: the verifier rejected it{at}{reason} [{Interop.Errno.Name(errno)}].{line}{explanation} The whole log is in {nameof(Log)}."
            + (hint is null ? "" : " " + hint);
    }
}

using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Text;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Runtime.Interop;

namespace XdpCompiler.Runtime;

/// <summary>The outcome of BPF_PROG_TEST_RUN on one packet.</summary>
/// <param name="ReturnValue">What the program returned (an <see cref="XdpAction"/> for XDP).</param>
/// <param name="Packet">The packet after the program ran (it may have rewritten or resized it).</param>
/// <param name="DurationNanoseconds">The kernel's average time per run.</param>
/// <param name="Repeat">How many times the kernel ran the program.</param>
public sealed record XdpTestRunResult(uint ReturnValue, byte[] Packet, uint DurationNanoseconds, uint Repeat)
{
    public XdpAction Action => (XdpAction)ReturnValue;

    /// <summary>
    /// How many bytes at the start of <see cref="Packet"/> are metadata (data_meta up to data) after the run, as the
    /// kernel reports it in the output context; known only for a run given an <see cref="XdpTestContext"/>.
    /// </summary>
    public int? MetadataLength { get; init; }

    public TimeSpan Duration => TimeSpan.FromTicks(DurationNanoseconds / 100);
}

/// <summary>
/// The <c>struct xdp_md</c> a test run starts from, besides the packet: the interface and receive queue the packet
/// "arrived" on (the interface must exist in this network namespace, the queue below its queue count) and metadata in
/// front of the packet (what <c>bpf_xdp_adjust_meta</c> would have put there: a multiple of 4 bytes, at most 32).
/// </summary>
public sealed record XdpTestContext
{
    /// <summary>ctx->ingress_ifindex; 0 runs on the loopback device, as a run without a context does.</summary>
    public int IngressInterfaceIndex { get; init; }

    /// <summary>ctx->rx_queue_index; needs <see cref="IngressInterfaceIndex"/> when not 0.</summary>
    public uint RxQueueIndex { get; init; }

    /// <summary>Bytes between data_meta and data when the program starts.</summary>
    public ReadOnlyMemory<byte> Metadata { get; init; }
}

/// <summary>Where <see cref="LoadedProgram.Attach(string, XdpMode)"/> asks the kernel to run the program.</summary>
public enum XdpMode : uint
{
    /// <summary>No mode flag: the kernel picks native when the driver has it, generic otherwise.</summary>
    Auto = 0,
    /// <summary>XDP_FLAGS_SKB_MODE: in the network stack after the SKB is built; works on every interface.</summary>
    Generic = 2,
    /// <summary>XDP_FLAGS_DRV_MODE: in the driver before any allocation; the driver must support it.</summary>
    Native = 4,
    /// <summary>XDP_FLAGS_HW_MODE: on the NIC itself; only offload-capable NICs, through <see cref="XdpNetlink"/>.</summary>
    Offload = 8,
}

/// <summary>Where an XDP program can run, from its section name as libbpf reads it.</summary>
public enum XdpAttachPoint
{
    /// <summary><c>xdp</c>, <c>xdp.frags</c>: on an interface (BPF_XDP).</summary>
    Interface,
    /// <summary><c>xdp/devmap</c>, <c>xdp.frags/devmap</c>: on frames leaving through a devmap entry (BPF_XDP_DEVMAP).</summary>
    DevMap,
    /// <summary><c>xdp/cpumap</c>, <c>xdp.frags/cpumap</c>: on the target CPU of a cpumap entry (BPF_XDP_CPUMAP).</summary>
    CpuMap,
}

/// <summary>How much the verifier writes into its log (bpf_attr.log_level bits).</summary>
[Flags]
public enum VerifierLogLevel : uint
{
    /// <summary>No log.</summary>
    None = 0,
    /// <summary>BPF_LOG_LEVEL1: every instruction the verifier walks, and the reason for a rejection.</summary>
    Basic = 1,
    /// <summary>BPF_LOG_LEVEL2: also the register and stack state at every instruction (much longer).</summary>
    Verbose = 2,
    /// <summary>BPF_LOG_STATS: the statistics at the end (instructions processed, states, time).</summary>
    Stats = 4,
}

/// <summary>The section-derived load attributes of one program: attach point, expected attach type, flags.</summary>
internal readonly record struct ProgramKind(XdpAttachPoint AttachPoint, bool Fragments)
{
    /// <summary>BPF_F_XDP_HAS_FRAGS (5.18): the program handles multi-buffer frames.</summary>
    internal const uint XdpHasFragsFlag = 1u << 5;

    internal uint ExpectedAttachType => AttachPoint switch
    {
        XdpAttachPoint.DevMap => (uint)BpfAttachType.XdpDevMap,
        XdpAttachPoint.CpuMap => (uint)BpfAttachType.XdpCpuMap,
        _ => (uint)BpfAttachType.Xdp,
    };

    internal uint Flags => Fragments ? XdpHasFragsFlag : 0;

    /// <summary>libbpf's XDP section names: <c>xdp[.frags][/devmap|/cpumap]</c>; anything else under xdp is a plain XDP program.</summary>
    internal static ProgramKind FromSection(string section)
    {
        var fragments = section == "xdp.frags" || section.StartsWith("xdp.frags/", StringComparison.Ordinal);
        var suffix = section.IndexOf('/') is var slash and >= 0 ? section[(slash + 1)..] : "";
        var point = suffix switch
        {
            "devmap" => XdpAttachPoint.DevMap,
            "cpumap" => XdpAttachPoint.CpuMap,
            _ => XdpAttachPoint.Interface,
        };
        return new ProgramKind(point, fragments);
    }

    /// <summary>The Linux release that introduced what this program needs beyond plain XDP, or null.</summary>
    internal (string Feature, Version Since)? Requirement => (AttachPoint, Fragments) switch
    {
        (_, true) => ("multi-buffer XDP (xdp.frags, BPF_F_XDP_HAS_FRAGS)", new Version(5, 18)),
        (XdpAttachPoint.CpuMap, _) => ("cpumap programs (xdp/cpumap, BPF_XDP_CPUMAP)", new Version(5, 9)),
        (XdpAttachPoint.DevMap, _) => ("devmap programs (xdp/devmap, BPF_XDP_DEVMAP)", new Version(5, 8)),
        _ => null,
    };
}

/// <summary>
/// What a program load sends besides the code: BTF func_info and line_info so the verifier log, bpftool and our errors
/// show source lines. Instruction offsets are instruction indexes (not bytes, unlike <c>.BTF.ext</c>), and the string
/// offsets point into the BTF loaded as <paramref name="Btf"/>.
/// </summary>
internal sealed record ProgramDebugInfo(LoadedBtf Btf, ImmutableArray<FuncInfoRecord> Functions, ImmutableArray<LineInfoRecord> Lines);

/// <summary>An XDP program the verifier accepted. Disposing it unloads it unless a link or pin still holds it.</summary>
public sealed unsafe class LoadedProgram : IDisposable
{
    private const int MaxEagainRetries = 5;

    private const uint LogStats = (uint)VerifierLogLevel.Stats;

    private LoadedProgram(BpfFd fd, string name, ImmutableArray<Instruction> instructions, string? debugInfoWarning, VerifierStats? verifierStats,
        ProgramKind kind = default, string? verifierLog = null)
    {
        Fd = fd;
        Name = name;
        Instructions = instructions;
        DebugInfoWarning = debugInfoWarning;
        VerifierStats = verifierStats;
        AttachPoint = kind.AttachPoint;
        HasFragments = kind.Fragments;
        VerifierLog = verifierLog;
    }

    /// <summary>Where the program runs: on an interface, or as the program of devmap or cpumap entries.</summary>
    public XdpAttachPoint AttachPoint { get; }

    /// <summary>Loaded with BPF_F_XDP_HAS_FRAGS (an <c>xdp.frags</c> section): it accepts multi-buffer frames.</summary>
    public bool HasFragments { get; }

    /// <summary>
    /// The verifier's log of the successful load, when <see cref="BpfObjectLoadOptions.KeepVerifierLog"/> asked for it
    /// (at <see cref="BpfObjectLoadOptions.VerifierLogLevel"/>); null otherwise.
    /// </summary>
    public string? VerifierLog { get; }

    public BpfFd Fd { get; }

    public string Name { get; }

    /// <summary>The instructions as loaded: relocated, with map fds in the <c>ld_imm64</c> slots.</summary>
    public ImmutableArray<Instruction> Instructions { get; }

    /// <summary>Set when the kernel refused the program's func/line info and it was loaded without.</summary>
    public string? DebugInfoWarning { get; }

    /// <summary>
    /// The verifier's statistics for this load, when <see cref="BpfObjectLoadOptions.CollectVerifierStats"/> asked for
    /// them; null otherwise.
    /// </summary>
    public VerifierStats? VerifierStats { get; }

    /// <summary>The kernel's id of the program (bpftool prog show, ip link's "prog/xdp id").</summary>
    public uint Id => Info().Id;

    /// <summary>The kernel's tag: a hash of the instructions, as bpftool prints it.</summary>
    public string Tag
    {
        get
        {
            var info = Info();
            return Convert.ToHexStringLower(new ReadOnlySpan<byte>(info.Tag, 8));
        }
    }

    /// <summary>
    /// The kernel's run-time counters for this program (what <c>bpftool prog show</c> prints as run_time_ns and
    /// run_cnt): they count every run, attached or test run, but only while <see cref="RunTimeStatistics"/> (or the
    /// sysctl kernel.bpf_stats_enabled) is on, so compare two readings taken inside one such scope.
    /// </summary>
    public ProgramRunStatistics RunStatistics
    {
        get
        {
            var info = Info();
            return new ProgramRunStatistics(info.RunTimeNs, info.RunCount, info.RecursionMisses);
        }
    }

    /// <summary>
    /// Loads instructions that need no relocation (no maps, no calls) as an XDP program; <paramref name="section"/>
    /// chooses the attach point and flags as libbpf does (<c>xdp</c>, <c>xdp.frags</c>, <c>xdp/devmap</c>, <c>xdp/cpumap</c>).
    /// </summary>
    public static LoadedProgram Load(string name, IReadOnlyList<Instruction> instructions, string license = "GPL", string section = "xdp")
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(instructions);
        ArgumentNullException.ThrowIfNull(section);
        return Load(name, instructions.ToImmutableArray(), license, debugInfo: null, new ProgramLoadSettings(section));
    }

    /// <summary>The options of one load: the section (attach point, flags) and what the verifier should log.</summary>
    internal sealed record ProgramLoadSettings(string Section = "xdp", bool CollectStats = false,
        VerifierLogLevel LogLevel = VerifierLogLevel.Basic, bool KeepLog = false);

    internal static LoadedProgram Load(string name, ImmutableArray<Instruction> instructions, string license, ProgramDebugInfo? debugInfo,
        ProgramLoadSettings? settings = null)
    {
        settings ??= new ProgramLoadSettings();
        var operation = $"load program {name}";
        if (instructions.IsDefaultOrEmpty)
            throw new ArgumentException($"Program {name} has no instructions.", nameof(instructions));
        var kind = ProgramKind.FromSection(settings.Section);
        var code = Instruction.Encode(instructions);
        var licenseBytes = Encoding.UTF8.GetBytes(license + "\0");
        var collectStats = settings.CollectStats;
        // The log level for the retry that explains a rejection: at least level 1, or there is nothing to explain with.
        var explain = (uint)(settings.LogLevel & (VerifierLogLevel.Basic | VerifierLogLevel.Verbose));
        if (explain == 0)
            explain = (uint)VerifierLogLevel.Basic;
        explain |= collectStats ? LogStats : 0;
        // Statistics cost a small log buffer on every attempt; without them (and without a kept log) the first attempt
        // has no log at all.
        var quiet = settings.KeepLog ? explain | (uint)(settings.LogLevel & VerifierLogLevel.Stats) : collectStats ? LogStats : 0;

        LoadedProgram Loaded(int fd, string log, string? warning) =>
            new(new BpfFd(fd), name, instructions, warning, collectStats ? VerifierStats.Parse(log) : null, kind, settings.KeepLog ? log : null);

        var (fd, quietLog) = Try(name, code, licenseBytes, debugInfo, quiet, kind);
        if (fd >= 0)
            return Loaded(fd, quietLog, null);
        if (-fd is Errno.EPERM or Errno.EMFILE or Errno.ENFILE)
            throw BpfErrors.Create(BpfOperationKind.ProgramLoad, operation, name, -fd);

        var (logged, log) = quiet == explain ? (fd, quietLog) : Try(name, code, licenseBytes, debugInfo, explain, kind);
        if (logged >= 0)
            return Loaded(logged, log, null);

        if (debugInfo is not null && IsAboutDebugInfo(log))
        {
            // Bad func/line info should not cost the user a working program: load without it and say why.
            var (plain, plainLog) = Try(name, code, licenseBytes, null, quiet, kind);
            if (plain >= 0)
            {
                var summary = Runtime.VerifierLog.Parse(log).Message ?? Errno.Name(-logged);
                return Loaded(plain, plainLog,
                    $"The kernel refused the func/line info of program {name} ({summary}); it was loaded without source lines.");
            }
            (logged, log) = Try(name, code, licenseBytes, null, explain, kind);
            if (logged >= 0)
                return Loaded(logged, log, "The program loaded only without its func/line info.");
        }

        if (string.IsNullOrWhiteSpace(log))
            throw BpfErrors.Create(BpfOperationKind.ProgramLoad, operation, name, -logged, KernelRequirement(kind, settings.Section, -logged));
        throw new BpfVerifierException(name, operation, -logged, log);
    }

    /// <summary>
    /// For a load refused without a log: when the program needs a feature newer than the running kernel (from
    /// /proc/sys/kernel/osrelease), says so; null otherwise.
    /// </summary>
    internal static string? KernelRequirement(ProgramKind kind, string section, int errno)
    {
        if (errno != Errno.EINVAL || kind.Requirement is not { } need)
            return null;
        var running = KernelRelease.Current;
        if (running is not null && running >= need.Since)
            return null;
        return $"Section '{section}' needs {need.Feature}, which Linux {need.Since.Major}.{need.Since.Minor} introduced; this kernel is {KernelRelease.Text ?? "unknown"}. "
            + "Use a plain 'xdp' section or a newer kernel.";
    }

    // The kernel's complaints about func/line info ("missing bpf_line_info for func#0", "Invalid line_info[2]…",
    // "number of funcs in func_info doesn't match…", "invalid type id 7 in func info") name them in the reason.
    private static bool IsAboutDebugInfo(string log)
    {
        var reason = Runtime.VerifierLog.Parse(log).Message ?? log;
        return reason.Contains("line_info", StringComparison.OrdinalIgnoreCase)
            || reason.Contains("func_info", StringComparison.OrdinalIgnoreCase)
            || reason.Contains("func info", StringComparison.OrdinalIgnoreCase)
            || reason.Contains("btf", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>One load attempt; with a nonzero <paramref name="logLevel"/> it captures the whole log.</summary>
    private static (int Result, string Log) Try(string name, byte[] code, byte[] license, ProgramDebugInfo? debugInfo, uint logLevel, ProgramKind kind) =>
        logLevel == 0
            ? (Attempt(name, code, license, debugInfo, 0, null, 0, kind, out _), "")
            : KernelLog.Capture((byte* buffer, uint size, out uint trueSize) => Attempt(name, code, license, debugInfo, logLevel, buffer, size, kind, out trueSize));

    private static int Attempt(string name, byte[] code, byte[] license, ProgramDebugInfo? debugInfo, uint logLevel, byte* logBuffer, uint logSize,
        ProgramKind kind, out uint logTrueSize)
    {
        var functions = debugInfo?.Functions.ToArray() ?? [];
        var lines = debugInfo?.Lines.ToArray() ?? [];
        var added = false;
        try
        {
            fixed (byte* insns = code)
            fixed (byte* lic = license)
            fixed (FuncInfoRecord* funcInfo = functions)
            fixed (LineInfoRecord* lineInfo = lines)
            {
                var attr = new ProgLoadAttr
                {
                    ProgType = (uint)BpfProgType.Xdp,
                    ExpectedAttachType = kind.ExpectedAttachType,
                    ProgFlags = kind.Flags,
                    InsnCount = (uint)(code.Length / Instruction.Size),
                    Insns = (ulong)insns,
                    License = (ulong)lic,
                    LogLevel = logBuffer == null ? 0u : logLevel,
                    LogBuf = (ulong)logBuffer,
                    LogSize = logBuffer == null ? 0 : logSize,
                };
                KernelNames.Write(name, attr.ProgName);
                if (debugInfo is not null)
                {
                    debugInfo.Btf.Fd.DangerousAddRef(ref added);
                    attr.ProgBtfFd = (uint)debugInfo.Btf.Fd.Value;
                    if (functions.Length > 0)
                    {
                        attr.FuncInfoRecSize = (uint)sizeof(FuncInfoRecord);
                        attr.FuncInfo = (ulong)funcInfo;
                        attr.FuncInfoCount = (uint)functions.Length;
                    }
                    if (lines.Length > 0)
                    {
                        attr.LineInfoRecSize = (uint)sizeof(LineInfoRecord);
                        attr.LineInfo = (ulong)lineInfo;
                        attr.LineInfoCount = (uint)lines.Length;
                    }
                }
                var result = BpfSyscall.Invoke(BpfCommand.ProgLoad, ref attr);
                // The verifier gives up with EAGAIN when a signal interrupts it; libbpf retries too.
                for (var retry = 0; result == -Errno.EAGAIN && retry < MaxEagainRetries; retry++)
                {
                    attr.LogTrueSize = 0;
                    result = BpfSyscall.Invoke(BpfCommand.ProgLoad, ref attr);
                }
                logTrueSize = attr.LogTrueSize;
                return result;
            }
        }
        finally
        {
            if (added)
                debugInfo!.Btf.Fd.DangerousRelease();
        }
    }

    /// <summary>
    /// BPF_PROG_TEST_RUN: runs the program on <paramref name="packet"/> (an Ethernet frame) <paramref name="repeat"/>
    /// times without any interface. Maps see the runs, as they would see real traffic.
    /// </summary>
    public XdpTestRunResult TestRun(ReadOnlySpan<byte> packet, uint repeat = 1) => Run(packet, null, repeat);

    /// <summary>
    /// BPF_PROG_TEST_RUN starting from <paramref name="context"/>: the program sees its ingress interface, receive queue
    /// and metadata. <see cref="XdpTestRunResult.Packet"/> then starts with the metadata the program left, and
    /// <see cref="XdpTestRunResult.MetadataLength"/> says how long it is.
    /// </summary>
    public XdpTestRunResult TestRun(ReadOnlySpan<byte> packet, XdpTestContext context, uint repeat = 1)
    {
        ArgumentNullException.ThrowIfNull(context);
        var metadata = context.Metadata.Span;
        if (metadata.Length % 4 != 0 || metadata.Length > 32)
            throw new ArgumentException($"XDP metadata is a multiple of 4 bytes, at most 32; this is {metadata.Length}.", nameof(context));
        var input = new byte[metadata.Length + packet.Length];
        metadata.CopyTo(input);
        packet.CopyTo(input.AsSpan(metadata.Length));
        return Run(input, context, repeat);
    }

    /// <summary>struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct XdpMd
    {
        public uint Data, DataEnd, DataMeta, IngressIfindex, RxQueueIndex, EgressIfindex;
    }

    private XdpTestRunResult Run(ReadOnlySpan<byte> input, XdpTestContext? context, uint repeat)
    {
        var operation = $"test-run program {Name}";
        // Room for what the program may add in front (bpf_xdp_adjust_head, 256 bytes of headroom) and at the end.
        var output = new byte[input.Length + 4096 + 256];
        // The kernel's input context counts from data_meta: data is the metadata's length, data_end the whole input's.
        var contextIn = context is null ? default : new XdpMd
        {
            Data = (uint)context.Metadata.Length,
            DataEnd = (uint)input.Length,
            IngressIfindex = (uint)context.IngressInterfaceIndex,
            RxQueueIndex = context.RxQueueIndex,
        };
        var contextOut = default(XdpMd);
        for (var attempt = 0; ; attempt++)
        {
            var attr = new TestRunAttr { DataSizeIn = (uint)input.Length, DataSizeOut = (uint)output.Length, Repeat = repeat };
            int result;
            var added = false;
            Fd.DangerousAddRef(ref added);
            try
            {
                fixed (byte* inputBytes = input)
                fixed (byte* outputBytes = output)
                {
                    attr.ProgFd = (uint)Fd.Value;
                    attr.DataIn = (ulong)inputBytes;
                    attr.DataOut = (ulong)outputBytes;
                    if (context is not null)
                    {
                        attr.CtxIn = (ulong)(&contextIn);
                        attr.CtxSizeIn = (uint)sizeof(XdpMd);
                        attr.CtxOut = (ulong)(&contextOut);
                        attr.CtxSizeOut = (uint)sizeof(XdpMd);
                    }
                    result = BpfSyscall.Invoke(BpfCommand.ProgTestRun, ref attr);
                }
            }
            finally
            {
                if (added)
                    Fd.DangerousRelease();
            }
            // ENOSPC: the packet grew beyond the buffer; the kernel says how big it got. Rare, and it reruns the program.
            if (result == -Errno.ENOSPC && attempt == 0 && attr.DataSizeOut > output.Length)
            {
                output = new byte[attr.DataSizeOut];
                continue;
            }
            if (result < 0)
                throw BpfErrors.Create(BpfOperationKind.TestRun, operation, Name, -result, RunDetail(input.Length, context, -result));
            return new XdpTestRunResult(attr.Retval, output.AsSpan(0, (int)attr.DataSizeOut).ToArray(), attr.Duration, repeat == 0 ? 1 : repeat)
            {
                MetadataLength = context is null ? null : (int)contextOut.Data,
            };
        }
    }

    private static string RunDetail(int size, XdpTestContext? context, int errno) => context switch
    {
        null => $"The packet was {size} bytes.",
        { IngressInterfaceIndex: var index } when errno == Errno.ENODEV =>
            $"No interface has index {index} in this network namespace.",
        { RxQueueIndex: not 0 } when errno == Errno.EINVAL =>
            $"The context asks for receive queue {context.RxQueueIndex}" + (context.IngressInterfaceIndex == 0
                ? " without an ingress interface; give IngressInterfaceIndex too."
                : $" of interface {context.IngressInterfaceIndex}; it must be below the interface's receive queue count."),
        _ => $"The input was {size} bytes, {context.Metadata.Length} of them metadata.",
    };

    /// <summary>Attaches the program to an interface through a bpf_link; disposing the link detaches it.</summary>
    public XdpLink Attach(string interfaceName, XdpMode mode = XdpMode.Auto)
    {
        ArgumentException.ThrowIfNullOrEmpty(interfaceName);
        int index;
        try
        {
            index = NetworkInterfaces.IndexOf(interfaceName);
        }
        catch (BpfException e)
        {
            throw new BpfException(BpfOperationKind.Attach, AttachOperation(interfaceName, mode), e.Errno, interfaceName, e.Hint, e);
        }
        return Attach(index, interfaceName, mode);
    }

    /// <summary>Attaches the program to the interface with this index.</summary>
    public XdpLink Attach(int interfaceIndex, XdpMode mode = XdpMode.Auto) =>
        Attach(interfaceIndex, NetworkInterfaces.NameOf(interfaceIndex) ?? $"ifindex {interfaceIndex}", mode);

    private XdpLink Attach(int index, string interfaceName, XdpMode mode)
    {
        if (mode is not (XdpMode.Auto or XdpMode.Generic or XdpMode.Native))
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "Use Auto, Generic or Native; offload goes through XdpNetlink.Attach.");
        CheckAttachableToInterface(interfaceName);
        var added = false;
        Fd.DangerousAddRef(ref added);
        int result;
        try
        {
            var attr = new LinkCreateAttr
            {
                ProgFd = (uint)Fd.Value,
                TargetIfindex = (uint)index,
                AttachType = (uint)BpfAttachType.Xdp,
                Flags = (uint)mode,
            };
            result = BpfSyscall.Invoke(BpfCommand.LinkCreate, ref attr);
        }
        finally
        {
            if (added)
                Fd.DangerousRelease();
        }
        if (result < 0)
        {
            var detail = mode switch { XdpMode.Native => "native", XdpMode.Generic => "generic", _ => null };
            throw BpfErrors.Create(BpfOperationKind.Attach, AttachOperation(interfaceName, mode), interfaceName, -result, detail);
        }
        return new XdpLink(new BpfFd(result), Name, interfaceName, index, mode);
    }

    /// <summary>A devmap or cpumap program only runs from a map entry; the kernel would refuse it with a bare EINVAL.</summary>
    internal void CheckAttachableToInterface(string interfaceName)
    {
        if (AttachPoint != XdpAttachPoint.Interface)
        {
            var map = AttachPoint == XdpAttachPoint.DevMap ? "devmap" : "cpumap";
            throw new InvalidOperationException(
                $"Program {Name} is a {map} program (section xdp/{map}) and cannot be attached to {interfaceName}: put it in a {map} entry "
                + $"({(AttachPoint == XdpAttachPoint.DevMap ? "DevMapView.Set" : "CpuMapView.Set")}), or load it from an 'xdp' section.");
        }
    }

    private string AttachOperation(string interfaceName, XdpMode mode) =>
        $"attach program {Name} to {interfaceName} ({mode.ToString().ToLowerInvariant()} mode)";

    /// <summary>
    /// BPF_OBJ_GET: opens the program pinned at <paramref name="path"/> (by bpftool, xdpc or another process). Its name
    /// comes from the kernel (at most 15 characters); <see cref="Instructions"/> is empty.
    /// </summary>
    public static LoadedProgram OpenPinned(string path)
    {
        var fd = KernelObjects.OpenPin(path, BpfObjectKind.Program, "program");
        var program = FromDescriptor(fd, $"the program pinned at {path}");
        program.PinnedPath = path;
        return program;
    }

    /// <summary>BPF_PROG_GET_FD_BY_ID: opens the loaded program with this id, or returns null when there is none.</summary>
    public static LoadedProgram? TryOpenById(uint id)
    {
        var fd = KernelObjects.OpenById(BpfCommand.ProgGetFdById, id, "program");
        return fd is null ? null : FromDescriptor(fd, $"program {id}");
    }

    private static LoadedProgram FromDescriptor(BpfFd fd, string what)
    {
        try
        {
            var info = ObjectInfo.Get<ProgInfo>(fd, $"read the info of {what}", what);
            if (info.Type != (uint)BpfProgType.Xdp)
                throw new InvalidOperationException($"{what} is not an XDP program (BPF program type {info.Type}).");
            var name = KernelNames.Read(info.Name);
            return new LoadedProgram(fd, name.Length == 0 ? $"prog{info.Id}" : name, [], null, null);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>BPF_OBJ_PIN: keeps the program loaded at <paramref name="path"/> on a bpffs mount.</summary>
    public void Pin(string path)
    {
        ObjectInfo.Pin(Fd, path, $"pin program {Name}", Name);
        PinnedPath = path;
    }

    /// <summary>Where this object pinned the program (null when it did not, or after <see cref="Unpin"/>).</summary>
    public string? PinnedPath { get; private set; }

    /// <summary>Removes the pin this object made; the program lives on while anything else holds it.</summary>
    public void Unpin() => PinnedPath = ObjectInfo.Unpin(PinnedPath, $"program {Name}");

    public void Dispose() => Fd.Dispose();

    public override string ToString() => $"XDP program {Name} ({Instructions.Length} instructions)";

    private ProgInfo Info() => ObjectInfo.Get<ProgInfo>(Fd, $"read the info of program {Name}", Name);
}

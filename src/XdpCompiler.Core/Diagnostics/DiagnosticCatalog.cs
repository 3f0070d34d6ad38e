namespace XdpCompiler.Core.Diagnostics;

public enum XdpSeverity
{
    Warning,
    Error,
}

/// <summary>One entry of the catalogue: a stable id, a title and a message format ({0}, {1} filled per report).</summary>
public sealed record DiagnosticDescriptorInfo(string Id, string Title, string MessageFormat, XdpSeverity Severity, string Category)
{
    public string HelpLink => $"https://github.com/xdpcompiler/xdpcompiler/blob/main/docs/diagnostics.md#{Id.ToLowerInvariant()}";
}

/// <summary>
/// Every diagnostic the compiler, generator and analyzers report. Ids are stable: never renumber, never reuse.
/// Ranges: XDP0001-0099 frontend (C# the compiler cannot lower), XDP0100-0199 backend, XDP0200-0299 verifier,
/// XDP0900-0999 generator and infrastructure. docs/diagnostics.md has a bad example and its fix for each id.
/// </summary>
public static class DiagnosticCatalog
{
    private const string Frontend = "XdpCompiler.Frontend";
    private const string Backend = "XdpCompiler.Backend";
    private const string Generator = "XdpCompiler.Generator";

    public static readonly DiagnosticDescriptorInfo UnsupportedConstruct = new(
        "XDP0001", "C# construct not supported in an XDP program",
        "{0} is not supported in an XDP program: {1}", XdpSeverity.Error, Frontend);

    public static readonly DiagnosticDescriptorInfo Allocation = new(
        "XDP0002", "Allocation in an XDP program",
        "'{0}' allocates on the managed heap; eBPF programs have no heap. Use locals, stack structs or a map value instead.",
        XdpSeverity.Error, Frontend);

    public static readonly DiagnosticDescriptorInfo StringUse = new(
        "XDP0003", "String in an XDP program",
        "Strings are not supported in an XDP program ('{0}')", XdpSeverity.Error, Frontend);

    public static readonly DiagnosticDescriptorInfo ExceptionHandling = new(
        "XDP0004", "Exception handling in an XDP program",
        "'{0}' is not supported: eBPF has no exceptions. Return XdpAction.Aborted or XdpAction.Drop instead.",
        XdpSeverity.Error, Frontend);

    public static readonly DiagnosticDescriptorInfo InvalidProgramSignature = new(
        "XDP0005", "Invalid XDP program signature",
        "XDP program '{0}' must be declared 'static XdpAction {0}(XdpContext ctx)': {1}", XdpSeverity.Error, Frontend);

    public static readonly DiagnosticDescriptorInfo UnsupportedCall = new(
        "XDP0006", "Call not supported in an XDP program",
        "Call to '{0}' is not supported in an XDP program: {1}", XdpSeverity.Error, Frontend);

    public static readonly DiagnosticDescriptorInfo UnsupportedType = new(
        "XDP0007", "Type not supported in an XDP program",
        "Type '{0}' is not supported in an XDP program: {1}", XdpSeverity.Error, Frontend);

    public static readonly DiagnosticDescriptorInfo InvalidMap = new(
        "XDP0008", "Invalid map declaration",
        "Map '{0}' is invalid: {1}", XdpSeverity.Error, Frontend);

    public static readonly DiagnosticDescriptorInfo FloatingPoint = new(
        "XDP0011", "Floating point in an XDP program",
        "Floating-point type '{0}' is not supported: eBPF has no floating-point instructions", XdpSeverity.Error, Frontend);

    public static readonly DiagnosticDescriptorInfo ClassNotPartial = new(
        "XDP0012", "XDP object class must be static partial",
        "Class '{0}' contains XDP programs and must be declared 'static partial' so the generator can add the compiled object to it",
        XdpSeverity.Error, Frontend);

    public static readonly DiagnosticDescriptorInfo Recursion = new(
        "XDP0013", "Recursive call in an XDP program",
        "'{0}' calls itself (directly or through other methods); eBPF programs cannot recurse", XdpSeverity.Error, Frontend);

    public static readonly DiagnosticDescriptorInfo InlineDepth = new(
        "XDP0014", "Calls nested too deeply",
        "Calling '{0}' nests calls {1} deep; XDP programs allow at most {2}", XdpSeverity.Error, Frontend);

    public static readonly DiagnosticDescriptorInfo GplOnlyHelper = new(
        "XDP0015", "GPL-only helper in a program without a GPL-compatible license",
        "'{0}' is a GPL-only kernel helper, and the kernel refuses to load it in a program whose license is \"{1}\": use a GPL-compatible [XdpLicense] (\"GPL\", \"Dual MIT/GPL\", \"Dual BSD/GPL\", …) or do without the helper",
        XdpSeverity.Error, Frontend);

    public static readonly DiagnosticDescriptorInfo UnloadableSection = new(
        "XDP0016", "Section that libbpf does not load as XDP",
        "XDP program '{0}' is in section '{1}', which libbpf (bpftool, xdp-loader, ip) does not load as an XDP program: use xdp, xdp.frags, xdp/devmap, xdp/cpumap, xdp.frags/devmap or xdp.frags/cpumap (several programs may share one section)",
        XdpSeverity.Error, Frontend);

    public static readonly DiagnosticDescriptorInfo InvalidRunConfig = new(
        "XDP0020", "Invalid libxdp run config",
        "The [XdpRunConfig] of XDP program '{0}' is invalid: {1}", XdpSeverity.Error, Frontend);

    public static readonly DiagnosticDescriptorInfo StackTooLarge = new(
        "XDP0101", "Stack limit exceeded",
        "Program '{0}' needs {1} bytes of stack; eBPF allows 512", XdpSeverity.Error, Backend);

    public static readonly DiagnosticDescriptorInfo RegisterAllocationFailed = new(
        "XDP0102", "Program too complex for the register allocator",
        "Program '{0}' could not be register-allocated: {1}", XdpSeverity.Error, Backend);

    public static readonly DiagnosticDescriptorInfo InternalError = new(
        "XDP0900", "Internal compiler error",
        "Internal error while compiling '{0}': {1}. Please report it with the code that triggered it.", XdpSeverity.Error, Generator);

    public static IReadOnlyList<DiagnosticDescriptorInfo> All { get; } = new[]
    {
        UnsupportedConstruct, Allocation, StringUse, ExceptionHandling, InvalidProgramSignature, UnsupportedCall,
        UnsupportedType, InvalidMap, FloatingPoint, ClassNotPartial, Recursion, InlineDepth, GplOnlyHelper, UnloadableSection, InvalidRunConfig, StackTooLarge, RegisterAllocationFailed, InternalError,
    };
}

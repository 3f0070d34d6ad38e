namespace XdpCompiler;

/// <summary>
/// Marks a static method <c>XdpAction M(XdpContext ctx)</c> as an XDP program. The containing class is one eBPF object:
/// its programs and maps go into one ELF file named after the class.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class XdpProgramAttribute : Attribute
{
    public XdpProgramAttribute(string? name = null) => Name = name;

    /// <summary>The program's function symbol; the method name when omitted.</summary>
    public string? Name { get; }

    /// <summary>The ELF section libbpf reads the program type from: <c>xdp</c>, <c>xdp/&lt;name&gt;</c>, <c>xdp.frags</c>…</summary>
    public string Section { get; set; } = "xdp";
}

/// <summary>
/// libxdp's run config for an [XdpProgram] method (the C macro <c>XDP_RUN_CONFIG</c>), so that <c>xdp-loader</c> or any
/// libxdp user can run the program in its dispatcher, beside other programs on the same interface, written in C# or C.
/// The dispatcher runs its programs by <see cref="Priority"/>, lowest first, and goes on to the next program only when
/// a program returns one of its <see cref="ChainCallActions"/>; any other action is the interface's verdict.
/// Loading the object without libxdp (our loader, <c>ip link</c>, bpftool) ignores the config.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class XdpRunConfigAttribute : Attribute
{
    /// <summary>libxdp's default priority, for programs without a run config.</summary>
    public const int DefaultPriority = 50;

    /// <summary>Position in the dispatcher: lower runs first; 0 or more. Equal priorities sort by program name.</summary>
    public int Priority { get; set; } = DefaultPriority;

    /// <summary>
    /// The actions after which the dispatcher runs the next program (libxdp's default: <see cref="XdpAction.Pass"/>
    /// only). An empty array makes the program's verdict final whatever it is.
    /// </summary>
    public XdpAction[] ChainCallActions { get; set; } = [XdpAction.Pass];
}

/// <summary>
/// Marks a <c>static readonly</c> field of a map type as a BTF-defined map in the object's <c>.maps</c> section, with
/// the definition's optional <c>pinning</c> and <c>map_flags</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Field, Inherited = false)]
public sealed class MapAttribute : Attribute
{
    /// <summary>libbpf's <c>pinning</c>: <see cref="MapPinning.ByName"/> pins the map in bpffs under its name and reuses it.</summary>
    public MapPinning Pinning { get; set; }

    /// <summary>The definition's <c>map_flags</c> (the kernel checks which ones the map type accepts).</summary>
    public MapFlags Flags { get; set; }
}

/// <summary>
/// The license string written into the object's <c>license</c> section (default "GPL"). Only a GPL-compatible license
/// (the kernel's list: "GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL") may
/// call GPL-only helpers such as <see cref="Bpf.TracePrintk"/> and <see cref="XdpContext.FibLookup"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class XdpLicenseAttribute : Attribute
{
    public XdpLicenseAttribute(string license) => License = license;

    public string License { get; }
}

/// <summary>
/// Written by the generator: one per compiled object, so the build can write <c>&lt;Name&gt;.bpf.o</c> from the built
/// assembly without running user code. Not for hand use.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true, Inherited = false)]
public sealed class XdpObjectAttribute : Attribute
{
    public XdpObjectAttribute(string name, string elfBase64)
    {
        Name = name;
        ElfBase64 = elfBase64;
    }

    public string Name { get; }

    public string ElfBase64 { get; }
}

/// <summary>
/// Tells the compiler that a property reads a network-order field of its struct and converts it to host order, so it
/// lowers to one load and one byte swap. The managed getter does the same thing in .NET.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class NetworkOrderFieldAttribute : Attribute
{
    public NetworkOrderFieldAttribute(string field) => Field = field;

    public string Field { get; }
}

/// <summary>
/// Unrolls every <c>for</c> loop of the method whose trip count is a constant (a counter from a constant to a constant,
/// stepped by a constant, not assigned in the body): the body is emitted once per value, with the counter a constant.
/// Larger code, no loop for the verifier to walk, and often faster. At most 64 iterations a loop.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class UnrollAttribute : Attribute
{
}

/// <summary>
/// Makes a <c>static readonly</c> field configuration the loader can set before it loads the object: the field lives
/// in the object's <c>.rodata</c> (instead of being compiled into the code as a constant), initialised with the
/// field's initializer, and the loader may replace its bytes by name. Programs read it; nothing can write it.
/// </summary>
[AttributeUsage(AttributeTargets.Field, Inherited = false)]
public sealed class ConfigAttribute : Attribute
{
}

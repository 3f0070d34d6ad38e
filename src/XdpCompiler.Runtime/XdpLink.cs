using XdpCompiler.Runtime.Interop;

namespace XdpCompiler.Runtime;

/// <summary>
/// A program attached to an interface through a bpf_link (BPF_LINK_CREATE, BPF_XDP). The attachment lives as long as
/// the link: disposing it detaches the program (unless the link was pinned; then <see cref="Detach"/>).
/// </summary>
public sealed unsafe class XdpLink : IDisposable
{
    internal XdpLink(BpfFd fd, string programName, string interfaceName, int interfaceIndex, XdpMode mode)
    {
        Fd = fd;
        ProgramName = programName;
        InterfaceName = interfaceName;
        InterfaceIndex = interfaceIndex;
        Mode = mode;
    }

    public BpfFd Fd { get; }

    public string ProgramName { get; }

    public string InterfaceName { get; }

    public int InterfaceIndex { get; }

    /// <summary>The mode asked for (<see cref="XdpMode.Auto"/> lets the kernel choose; <see cref="Query"/> tells which).</summary>
    public XdpMode Mode { get; }

    /// <summary>The kernel's id of the link (bpftool link show).</summary>
    public uint Id => Info().Id;

    /// <summary>The id of the attached program.</summary>
    public uint ProgramId => Info().ProgId;

    /// <summary>What netlink reports for the interface now (which program, which mode).</summary>
    public XdpAttachment Query() => XdpQuery.Get(InterfaceIndex, InterfaceName);

    /// <summary>BPF_OBJ_PIN: keeps the attachment after this process exits, until the pin is removed.</summary>
    public void Pin(string path) => ObjectInfo.Pin(Fd, path, $"pin the XDP link of {ProgramName} on {InterfaceName}", ProgramName);

    /// <summary>BPF_LINK_DETACH: detaches now even if the link is pinned or shared, then closes it.</summary>
    public void Detach()
    {
        if (Fd.IsClosed)
            return;
        var added = false;
        Fd.DangerousAddRef(ref added);
        int result;
        try
        {
            var attr = new ObjInfoAttr { BpfFd = (uint)Fd.Value };
            result = BpfSyscall.Invoke(BpfCommand.LinkDetach, &attr, sizeof(uint));
        }
        finally
        {
            if (added)
                Fd.DangerousRelease();
        }
        Fd.Dispose();
        // ENOLINK-like outcomes (the interface is gone, the link already detached) leave nothing to undo.
        if (result < 0 && -result is not (Errno.ENOENT or Errno.ENODEV or 67 /* ENOLINK */))
            throw BpfErrors.Create(BpfOperationKind.Attach, $"detach program {ProgramName} from {InterfaceName}", InterfaceName, -result);
    }

    public void Dispose() => Fd.Dispose();

    public override string ToString() => $"XDP link: {ProgramName} on {InterfaceName} ({Mode})";

    private LinkInfo Info() => ObjectInfo.Get<LinkInfo>(Fd, $"read the info of the XDP link of {ProgramName} on {InterfaceName}", ProgramName);
}

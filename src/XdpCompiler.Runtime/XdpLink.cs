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

    private const uint LinkTypeXdp = 6; // BPF_LINK_TYPE_XDP

    public BpfFd Fd { get; }

    /// <summary>
    /// BPF_OBJ_GET: opens the XDP link pinned at <paramref name="path"/> (by <see cref="Pin"/>, xdpc attach or bpftool),
    /// to query or <see cref="Detach"/> it. <see cref="Mode"/> is <see cref="XdpMode.Auto"/>: the link does not record the
    /// mode asked for (<see cref="Query"/> tells the mode in use).
    /// </summary>
    public static XdpLink OpenPinned(string path)
    {
        var fd = KernelObjects.OpenPin(path, BpfObjectKind.Link, "XDP link");
        var link = FromDescriptor(fd, $"the link pinned at {path}") ?? throw new InvalidOperationException($"{path} is a pinned link, but not an XDP link.");
        link.PinnedPath = path;
        return link;
    }

    /// <summary>
    /// Every XDP bpf_link in the system (BPF_LINK_GET_NEXT_ID), opened: the caller disposes them. Links whose interface
    /// is in another network namespace report that namespace's ifindex.
    /// </summary>
    public static IReadOnlyList<XdpLink> OpenAll()
    {
        var links = new List<XdpLink>();
        try
        {
            for (var id = KernelObjects.NextLinkId(0); id is { } current; id = KernelObjects.NextLinkId(current))
            {
                var fd = KernelObjects.OpenById(BpfCommand.LinkGetFdById, current, "link");
                if (fd is null)
                    continue; // gone since it was listed
                if (FromDescriptor(fd, $"link {current}") is { } link)
                    links.Add(link);
            }
            return links;
        }
        catch
        {
            foreach (var link in links)
                link.Dispose();
            throw;
        }
    }

    /// <summary>The link on <paramref name="fd"/> as an <see cref="XdpLink"/>, or null (fd closed) when it is another kind of link.</summary>
    private static XdpLink? FromDescriptor(BpfFd fd, string what)
    {
        try
        {
            var info = ObjectInfo.Get<LinkInfo>(fd, $"read the info of {what}", what);
            if (info.Type != LinkTypeXdp)
            {
                fd.Dispose();
                return null;
            }
            string programName;
            using (var program = info.ProgId == 0 ? null : LoadedProgram.TryOpenById(info.ProgId))
                programName = program?.Name ?? $"program {info.ProgId}";
            var index = (int)info.XdpIfindex;
            var interfaceName = index == 0 ? "(no interface)" : NetworkInterfaces.NameOf(index) ?? $"ifindex {index}";
            return new XdpLink(fd, programName, interfaceName, index, XdpMode.Auto);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

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
    public void Pin(string path)
    {
        ObjectInfo.Pin(Fd, path, $"pin the XDP link of {ProgramName} on {InterfaceName}", ProgramName);
        PinnedPath = path;
    }

    /// <summary>Where this link is pinned by this object, or the pin it was opened from (null after <see cref="Unpin"/>).</summary>
    public string? PinnedPath { get; private set; }

    /// <summary>
    /// Removes the pin: the link (and the attachment) then lasts only as long as this object, or whatever else holds it.
    /// </summary>
    public void Unpin() => PinnedPath = ObjectInfo.Unpin(PinnedPath, $"XDP link of {ProgramName} on {InterfaceName}");

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

using System.Text;
using XdpCompiler.Runtime.Interop;

namespace XdpCompiler.Runtime;

/// <summary>What a BPF descriptor refers to, as its anonymous inode names it.</summary>
public enum BpfObjectKind
{
    Unknown,
    Map,
    Program,
    Link,
    Btf,
}

/// <summary>
/// Opening objects another process created, by pin or by id: what a tool that meets pinned maps, programs and links
/// needs (and what <see cref="LoadedMap.OpenPinned(string)"/>, <see cref="LoadedProgram.OpenPinned"/> and
/// <see cref="XdpLink.OpenPinned"/> are built on).
/// </summary>
public static unsafe class KernelObjects
{
    /// <summary>BPF_OBJ_GET: a descriptor for whatever is pinned at <paramref name="path"/>.</summary>
    public static BpfFd OpenPin(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return OpenPin(path, $"open the object pinned at {path}", path);
    }

    /// <summary>BPF_OBJ_GET, failing as <paramref name="operation"/> on the object called <paramref name="name"/>.</summary>
    internal static BpfFd OpenPin(string path, string operation, string name)
    {
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        int result;
        fixed (byte* p = bytes)
        {
            var attr = new ObjPinAttr { Pathname = (ulong)p };
            result = BpfSyscall.Invoke(BpfCommand.ObjGet, ref attr);
        }
        if (result < 0)
            throw BpfErrors.Create(BpfOperationKind.Pin, operation, name, -result, path);
        return new BpfFd(result);
    }

    /// <summary>What <paramref name="fd"/> is (map, program, link, BTF), from /proc/self/fd.</summary>
    public static BpfObjectKind KindOf(BpfFd fd)
    {
        ArgumentNullException.ThrowIfNull(fd);
        string? target;
        try
        {
            target = new FileInfo($"/proc/self/fd/{fd.Value}").LinkTarget;
        }
        catch (IOException)
        {
            return BpfObjectKind.Unknown;
        }
        return target switch
        {
            "anon_inode:bpf-map" => BpfObjectKind.Map,
            "anon_inode:bpf-prog" => BpfObjectKind.Program,
            // BPF_LINK_CREATE names the inode bpf_link, BPF_OBJ_GET of a pinned link bpf-link.
            "anon_inode:bpf_link" or "anon_inode:bpf-link" => BpfObjectKind.Link,
            "anon_inode:btf" => BpfObjectKind.Btf,
            _ => BpfObjectKind.Unknown,
        };
    }

    /// <summary>Opens the pin and checks it is a <paramref name="expected"/>; the message names what it is instead.</summary>
    internal static BpfFd OpenPin(string path, BpfObjectKind expected, string what)
    {
        var fd = OpenPin(path);
        var kind = KindOf(fd);
        if (kind == expected)
            return fd;
        fd.Dispose();
        throw new InvalidOperationException($"{path} is not a pinned {what}: it is {Describe(kind)}.");
    }

    private static string Describe(BpfObjectKind kind) => kind switch
    {
        BpfObjectKind.Map => "a map",
        BpfObjectKind.Program => "a program",
        BpfObjectKind.Link => "a link",
        BpfObjectKind.Btf => "BTF",
        _ => "not a BPF object this runtime knows",
    };

    /// <summary>BPF_*_GET_FD_BY_ID; null when no object has the id (any more).</summary>
    internal static BpfFd? OpenById(BpfCommand command, uint id, string what)
    {
        var attr = new GetFdByIdAttr { Id = id };
        var result = BpfSyscall.Invoke(command, ref attr);
        if (result == -Errno.ENOENT)
            return null;
        if (result < 0)
            throw BpfErrors.Create(BpfOperationKind.ObjectInfo, $"open {what} {id}", $"{what} {id}", -result);
        return new BpfFd(result);
    }

    /// <summary>BPF_LINK_GET_NEXT_ID from <paramref name="after"/>; null at the end.</summary>
    internal static uint? NextLinkId(uint after)
    {
        var attr = new GetFdByIdAttr { Id = after };
        var result = BpfSyscall.Invoke(BpfCommand.LinkGetNextId, ref attr);
        if (result == -Errno.ENOENT)
            return null;
        if (result < 0)
            throw BpfErrors.Create(BpfOperationKind.ObjectInfo, "list the bpf links", null, -result);
        return attr.NextId;
    }
}

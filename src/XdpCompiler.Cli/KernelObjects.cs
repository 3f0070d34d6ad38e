using System.Runtime.InteropServices;
using System.Text;
using XdpCompiler.Runtime.Interop;

namespace XdpCompiler.Cli;

/// <summary>
/// The few bpf() commands xdpc needs that the runtime does not expose publicly (opening a pin of unknown kind, object
/// info, detaching a link found by pin or interface). Kept here rather than in the runtime because only a tool that
/// meets objects created by another process needs them.
/// </summary>
internal static unsafe partial class KernelObjects
{
    private const int ObjGet = 7;
    private const int ProgGetFdById = 13;
    private const int ObjGetInfoByFd = 15;
    private const int LinkGetFdById = 30;
    private const int LinkGetNextId = 31;
    private const int LinkDetach = 34;
    public const uint LinkTypeXdp = 6;
    private const int ENOENT = 2;

    private static readonly long SysBpf = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 321,
        Architecture.Arm64 or Architecture.RiscV64 or Architecture.LoongArch64 => 280,
        _ => -1,
    };

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long command, void* attr, long size);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    private static int Bpf(int command, void* attr, int size)
    {
        if (SysBpf < 0)
            throw new PlatformNotSupportedException($"xdpc does not know the bpf() syscall number on {RuntimeInformation.ProcessArchitecture}");
        var result = Syscall(SysBpf, command, attr, size);
        return result >= 0 ? (int)result : -Marshal.GetLastPInvokeError();
    }

    private static Exception Failed(string operation, int errno, string? hint = null) =>
        new IOException($"{operation} failed: {Errno.Name(errno)} ({Errno.Describe(errno)})." + (hint is null ? "" : " " + hint));

    /// <summary>A descriptor from this class, closed on dispose.</summary>
    public sealed class Fd(int value) : IDisposable
    {
        public int Value { get; } = value;

        public void Dispose() => Close(Value);
    }

    /// <summary>BPF_OBJ_GET: whatever is pinned at <paramref name="path"/>.</summary>
    public static Fd OpenPin(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"nothing is pinned at {path}");
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        var attr = stackalloc ulong[2];
        attr[1] = 0;
        int result;
        fixed (byte* p = bytes)
        {
            attr[0] = (ulong)p;
            result = Bpf(ObjGet, attr, 16);
        }
        if (result < 0)
            throw Failed($"open the pin {path}", -result, -result == 22 ? "Is it on a bpffs mount (/sys/fs/bpf)?" : null);
        return new Fd(result);
    }

    /// <summary>BPF_OBJ_GET_INFO_BY_FD into a buffer of <paramref name="size"/> bytes (the kernel fills what it knows).</summary>
    public static byte[] Info(Fd fd, int size, string what)
    {
        var info = new byte[size];
        var attr = stackalloc ulong[2];
        int result;
        fixed (byte* p = info)
        {
            ((uint*)attr)[0] = (uint)fd.Value;
            ((uint*)attr)[1] = (uint)size;
            attr[1] = (ulong)p;
            result = Bpf(ObjGetInfoByFd, attr, 16);
        }
        if (result < 0)
            throw Failed($"read the info of {what}", -result);
        return info;
    }

    /// <summary>struct bpf_link_info: type, id, prog_id, and for XDP the ifindex at offset 16.</summary>
    public static LinkDescription DescribeLink(Fd fd, string what)
    {
        var info = Info(fd, 64, what);
        return new LinkDescription(BitConverter.ToUInt32(info, 0), BitConverter.ToUInt32(info, 4), BitConverter.ToUInt32(info, 8), BitConverter.ToInt32(info, 16));
    }

    /// <summary>BPF_LINK_DETACH; false when the fd is not a link (EINVAL) so the caller can say what the pin is.</summary>
    public static void Detach(Fd fd, string what)
    {
        var attr = stackalloc uint[2];
        attr[0] = (uint)fd.Value;
        attr[1] = 0;
        var result = Bpf(LinkDetach, attr, 4);
        if (result < 0 && -result is not (ENOENT or 19 /* ENODEV */ or 67 /* ENOLINK */))
            throw Failed($"detach {what}", -result, -result == 22 ? "Is it a pinned XDP link (xdpc attach --pin)? Program and map pins cannot be detached." : null);
    }

    /// <summary>Every XDP bpf_link on the system (BPF_LINK_GET_NEXT_ID), opened; the caller disposes them.</summary>
    public static List<(Fd Fd, LinkDescription Link)> XdpLinks()
    {
        var links = new List<(Fd, LinkDescription)>();
        var attr = stackalloc uint[3];
        uint id = 0;
        while (true)
        {
            attr[0] = id;
            attr[1] = 0;
            attr[2] = 0;
            var result = Bpf(LinkGetNextId, attr, 12);
            if (result < 0)
            {
                if (-result == ENOENT)
                    return links;
                foreach (var (fd, _) in links)
                    fd.Dispose();
                throw Failed("list the bpf links", -result);
            }
            id = attr[1];
            attr[0] = id;
            attr[1] = 0;
            var opened = Bpf(LinkGetFdById, attr, 12);
            if (opened < 0)
                continue; // gone since it was listed
            var handle = new Fd(opened);
            var link = DescribeLink(handle, $"link {id}");
            if (link.Type == LinkTypeXdp)
                links.Add((handle, link));
            else
                handle.Dispose();
        }
    }

    /// <summary>The name the kernel keeps for program <paramref name="id"/> (16 bytes at most), or null.</summary>
    public static string? ProgramName(uint id)
    {
        var attr = stackalloc uint[3];
        attr[0] = id;
        var fd = Bpf(ProgGetFdById, attr, 12);
        if (fd < 0)
            return null;
        using var handle = new Fd(fd);
        var info = Info(handle, 96, $"program {id}");
        var name = info.AsSpan(64, 16);
        var end = name.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? name : name[..end]);
    }

    /// <summary>struct bpf_map_info's first fields.</summary>
    public static MapDescription DescribeMap(Fd fd, string what)
    {
        var info = Info(fd, 80, what);
        var name = info.AsSpan(24, 16);
        var end = name.IndexOf((byte)0);
        return new MapDescription(BitConverter.ToUInt32(info, 0), BitConverter.ToUInt32(info, 4), BitConverter.ToUInt32(info, 8),
            BitConverter.ToUInt32(info, 12), BitConverter.ToUInt32(info, 16), BitConverter.ToUInt32(info, 20),
            Encoding.UTF8.GetString(end < 0 ? name : name[..end]));
    }
}

internal sealed record LinkDescription(uint Type, uint Id, uint ProgramId, int InterfaceIndex);

internal sealed record MapDescription(uint Type, uint Id, uint KeySize, uint ValueSize, uint MaxEntries, uint Flags, string Name);

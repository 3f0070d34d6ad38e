using System.Runtime.InteropServices;

namespace XdpCompiler.Runtime.Tests;

/// <summary>
/// Just enough of an AF_XDP socket for xskmap tests (include/uapi/linux/if_xdp.h): a UMEM registered, fill,
/// completion and RX rings sized (never mapped: the fill ring stays empty, so every frame redirected to the socket is
/// counted as dropped in XDP_STATISTICS, which proves it arrived), and a copy-mode bind to one interface queue.
/// </summary>
internal sealed unsafe class AfXdpSocket : SafeHandle
{
    private const int AfXdp = 44, SockRaw = 3, SolXdp = 283;
    private const int XdpRxRing = 2, XdpUmemReg = 4, XdpUmemFillRing = 5, XdpUmemCompletionRing = 6, XdpStatistics = 7;
    private const ushort XdpCopy = 1 << 1;
    private const int Frames = 16, FrameSize = 4096, RingSize = 16;

    private void* _umem;

    private AfXdpSocket()
        : base(new IntPtr(-1), ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle.ToInt64() < 0;

    public int Fd => (int)handle.ToInt64();

    /// <summary>A socket with nothing set up: the kernel refuses it in an xskmap.</summary>
    public static AfXdpSocket CreateUnbound()
    {
        var fd = Socket(AfXdp, SockRaw, 0);
        if (fd < 0)
            throw new InvalidOperationException($"socket(AF_XDP) failed: errno {Marshal.GetLastPInvokeError()}");
        var socket = new AfXdpSocket();
        socket.SetHandle(new IntPtr(fd));
        return socket;
    }

    /// <summary>A socket bound in copy mode to queue <paramref name="queue"/> of the interface.</summary>
    public static AfXdpSocket Bind(int interfaceIndex, uint queue = 0)
    {
        var socket = CreateUnbound();
        try
        {
            socket._umem = NativeMemory.AlignedAlloc(Frames * FrameSize, FrameSize);
            var registration = stackalloc ulong[3]; // xdp_umem_reg v1: addr, len, chunk_size, headroom
            registration[0] = (ulong)socket._umem;
            registration[1] = Frames * FrameSize;
            ((uint*)registration)[4] = FrameSize;
            ((uint*)registration)[5] = 0;
            socket.Option(XdpUmemReg, registration, 24);
            var size = RingSize;
            socket.Option(XdpUmemFillRing, &size, sizeof(int));
            socket.Option(XdpUmemCompletionRing, &size, sizeof(int));
            socket.Option(XdpRxRing, &size, sizeof(int));

            var address = stackalloc byte[16]; // sockaddr_xdp: family, flags, ifindex, queue_id, shared_umem_fd
            new Span<byte>(address, 16).Clear();
            *(ushort*)address = AfXdp;
            *(ushort*)(address + 2) = XdpCopy;
            *(uint*)(address + 4) = (uint)interfaceIndex;
            *(uint*)(address + 8) = queue;
            if (BindSocket(socket.Fd, address, 16) < 0)
                throw new InvalidOperationException($"bind(AF_XDP) to ifindex {interfaceIndex} queue {queue} failed: errno {Marshal.GetLastPInvokeError()}");
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>XDP_STATISTICS rx_dropped: frames redirected to the socket that it had no fill-ring buffer for.</summary>
    public ulong DroppedForLackOfBuffers()
    {
        var stats = stackalloc ulong[6];
        var length = (uint)(6 * sizeof(ulong));
        if (GetSockOpt(Fd, SolXdp, XdpStatistics, stats, &length) < 0)
            throw new InvalidOperationException($"getsockopt(XDP_STATISTICS) failed: errno {Marshal.GetLastPInvokeError()}");
        return stats[0];
    }

    private void Option(int name, void* value, uint length)
    {
        if (SetSockOpt(Fd, SolXdp, name, value, length) < 0)
            throw new InvalidOperationException($"setsockopt(SOL_XDP, {name}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    protected override bool ReleaseHandle()
    {
        var closed = Close((int)handle.ToInt64()) == 0;
        if (_umem != null)
            NativeMemory.AlignedFree(_umem); // the kernel unpins the UMEM when the socket closes
        return closed;
    }

    [DllImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static extern int Socket(int domain, int type, int protocol);

    [DllImport("libc", EntryPoint = "bind", SetLastError = true)]
    private static extern int BindSocket(int fd, void* address, uint length);

    [DllImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static extern int SetSockOpt(int fd, int level, int name, void* value, uint length);

    [DllImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    private static extern int GetSockOpt(int fd, int level, int name, void* value, uint* length);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}

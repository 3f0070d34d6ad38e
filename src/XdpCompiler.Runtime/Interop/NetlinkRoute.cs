using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace XdpCompiler.Runtime.Interop;

/// <summary>Looks at one reply message of ours; returns true, with the result, when it settles the exchange.</summary>
internal delegate bool NetlinkReply<T>(ReadOnlySpan<byte> message, ushort type, ushort flags, out T result);

/// <summary>
/// One request/reply conversation on a NETLINK_ROUTE socket, shared by the XDP query and the netlink attach: a fresh
/// socket with a receive timeout (a kernel that never answers cannot hang the caller) and extended acks (the kernel's
/// reason as text), the request sent, and every reply message carrying our sequence number handed to the caller.
/// </summary>
internal static unsafe class NetlinkRoute
{
    public const int HeaderSize = 16;
    public const ushort NlmsgError = 2;
    private const int SolNetlink = 270, NetlinkCapAck = 10, NetlinkExtAck = 11;

    public static T Exchange<T>(ReadOnlySpan<byte> request, uint sequence, string interfaceName, string operation, NetlinkReply<T> reply)
    {
        var fd = Libc.Socket(Libc.AfNetlink, Libc.SockRaw | Libc.SockCloexec, Libc.NetlinkRoute);
        if (fd < 0)
            throw BpfErrors.Create(BpfOperationKind.Netlink, operation, interfaceName, Marshal.GetLastPInvokeError());
        using var socket = new BpfFd(fd);
        var timeout = stackalloc nint[2] { 5, 0 }; // struct timeval: two longs
        Libc.SetSockOpt(fd, Libc.SolSocket, Libc.SoRcvtimeo, timeout, (uint)(2 * sizeof(nint)));
        // The kernel's reason as text, without our request echoed back in full.
        var on = 1;
        Libc.SetSockOpt(fd, SolNetlink, NetlinkExtAck, &on, sizeof(int));
        Libc.SetSockOpt(fd, SolNetlink, NetlinkCapAck, &on, sizeof(int));

        fixed (byte* r = request)
        {
            if (Libc.Send(fd, r, (nuint)request.Length, 0) < 0)
                throw BpfErrors.Create(BpfOperationKind.Netlink, operation, interfaceName, Marshal.GetLastPInvokeError());
        }
        var buffer = new byte[64 * 1024];
        while (true)
        {
            nint received;
            fixed (byte* b = buffer)
                received = Libc.Recv(fd, b, (nuint)buffer.Length, 0);
            if (received < 0)
                throw BpfErrors.Create(BpfOperationKind.Netlink, operation, interfaceName, Marshal.GetLastPInvokeError());
            var data = buffer.AsSpan(0, (int)received);
            while (data.Length >= HeaderSize)
            {
                var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(data);
                var type = BinaryPrimitives.ReadUInt16LittleEndian(data[4..]);
                var flags = BinaryPrimitives.ReadUInt16LittleEndian(data[6..]);
                var seq = BinaryPrimitives.ReadUInt32LittleEndian(data[8..]);
                if (length < HeaderSize || length > data.Length)
                    throw new InvalidDataException($"{operation}: netlink sent a truncated message ({length} of {data.Length} bytes).");
                var message = data[..length];
                data = data[Math.Min(Align(length), data.Length)..];
                if (seq == sequence && reply(message, type, flags, out var result))
                    return result;
            }
        }
    }

    /// <summary>Netlink messages and attributes are padded to 4 bytes.</summary>
    public static int Align(int length) => (length + 3) & ~3;
}

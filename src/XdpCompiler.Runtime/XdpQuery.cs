using System.Buffers.Binary;
using System.Runtime.InteropServices;
using XdpCompiler.Runtime.Interop;

namespace XdpCompiler.Runtime;

/// <summary>The kernel's XDP_ATTACHED_*: how the program on an interface runs.</summary>
public enum XdpAttachedMode : byte
{
    None = 0,
    Native = 1,
    Generic = 2,
    Offload = 3,
    /// <summary>Programs in more than one mode at once (see the per-mode ids).</summary>
    Multiple = 4,
}

/// <summary>What is attached to an interface, as netlink reports it (the same source as <c>ip link</c>).</summary>
public sealed record XdpAttachment(
    string InterfaceName,
    int InterfaceIndex,
    XdpAttachedMode Mode,
    uint ProgramId,
    uint NativeProgramId,
    uint GenericProgramId,
    uint OffloadProgramId)
{
    public bool IsAttached => Mode != XdpAttachedMode.None;
}

/// <summary>Asks rtnetlink (RTM_GETLINK) which XDP programs an interface has, whoever attached them.</summary>
public static unsafe class XdpQuery
{
    private const ushort RtmNewLink = 16;
    private const ushort RtmGetLink = 18;
    private const ushort NlmsgError = 2;
    private const ushort NlmFRequest = 1;
    private const ushort IflaXdp = 43;
    private const ushort IflaExtMask = 29;
    private const uint RtextFilterSkipStats = 1 << 3;
    private const ushort IflaXdpAttached = 2;
    private const ushort IflaXdpProgId = 4;
    private const ushort IflaXdpDrvProgId = 5;
    private const ushort IflaXdpSkbProgId = 6;
    private const ushort IflaXdpHwProgId = 7;
    private const int NlmsgHeaderSize = 16;
    private const int IfInfoMsgSize = 16;

    private static int s_sequence;

    public static XdpAttachment Get(string interfaceName) => Get(NetworkInterfaces.IndexOf(interfaceName), interfaceName);

    public static XdpAttachment Get(int interfaceIndex) => Get(interfaceIndex, NetworkInterfaces.NameOf(interfaceIndex) ?? $"ifindex {interfaceIndex}");

    internal static XdpAttachment Get(int interfaceIndex, string interfaceName)
    {
        var operation = $"query the XDP programs of {interfaceName}";
        var sequence = (uint)Interlocked.Increment(ref s_sequence);
        Span<byte> request = stackalloc byte[NlmsgHeaderSize + IfInfoMsgSize + 8];
        request.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(request, (uint)request.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(request[4..], RtmGetLink);
        BinaryPrimitives.WriteUInt16LittleEndian(request[6..], NlmFRequest);
        BinaryPrimitives.WriteUInt32LittleEndian(request[8..], sequence);
        BinaryPrimitives.WriteInt32LittleEndian(request[(NlmsgHeaderSize + 4)..], interfaceIndex); // ifinfomsg.ifi_index
        var attribute = request[(NlmsgHeaderSize + IfInfoMsgSize)..];
        BinaryPrimitives.WriteUInt16LittleEndian(attribute, 8);
        BinaryPrimitives.WriteUInt16LittleEndian(attribute[2..], IflaExtMask);
        BinaryPrimitives.WriteUInt32LittleEndian(attribute[4..], RtextFilterSkipStats);
        return NetlinkRoute.Exchange(request, sequence, interfaceName, operation,
            (ReadOnlySpan<byte> message, ushort type, ushort flags, out XdpAttachment attachment) =>
            {
                attachment = null!;
                if (type == NlmsgError)
                {
                    var error = -BinaryPrimitives.ReadInt32LittleEndian(message[NlmsgHeaderSize..]);
                    throw BpfErrors.Create(error is Errno.ENODEV ? BpfOperationKind.InterfaceLookup : BpfOperationKind.Netlink,
                        operation, interfaceName, error);
                }
                if (type != RtmNewLink)
                    return false;
                attachment = Parse(message[(NlmsgHeaderSize + IfInfoMsgSize)..], interfaceIndex, interfaceName);
                return true;
            });
    }

    private static XdpAttachment Parse(ReadOnlySpan<byte> attributes, int index, string name)
    {
        var result = new XdpAttachment(name, index, XdpAttachedMode.None, 0, 0, 0, 0);
        foreach (var (type, payload) in Attributes(attributes))
        {
            if (type != IflaXdp)
                continue;
            foreach (var (xdpType, value) in Attributes(payload))
            {
                result = xdpType switch
                {
                    IflaXdpAttached when value.Length >= 1 => result with { Mode = (XdpAttachedMode)value[0] },
                    IflaXdpProgId when value.Length >= 4 => result with { ProgramId = BinaryPrimitives.ReadUInt32LittleEndian(value) },
                    IflaXdpDrvProgId when value.Length >= 4 => result with { NativeProgramId = BinaryPrimitives.ReadUInt32LittleEndian(value) },
                    IflaXdpSkbProgId when value.Length >= 4 => result with { GenericProgramId = BinaryPrimitives.ReadUInt32LittleEndian(value) },
                    IflaXdpHwProgId when value.Length >= 4 => result with { OffloadProgramId = BinaryPrimitives.ReadUInt32LittleEndian(value) },
                    _ => result,
                };
            }
        }
        // With one mode the kernel sends only IFLA_XDP_PROG_ID; fill the per-mode id so callers need not care.
        return result.Mode switch
        {
            XdpAttachedMode.Native when result.NativeProgramId == 0 => result with { NativeProgramId = result.ProgramId },
            XdpAttachedMode.Generic when result.GenericProgramId == 0 => result with { GenericProgramId = result.ProgramId },
            XdpAttachedMode.Offload when result.OffloadProgramId == 0 => result with { OffloadProgramId = result.ProgramId },
            _ => result,
        };
    }

    private static List<(ushort Type, byte[] Payload)> Attributes(ReadOnlySpan<byte> data)
    {
        var list = new List<(ushort, byte[])>();
        while (data.Length >= 4)
        {
            var length = BinaryPrimitives.ReadUInt16LittleEndian(data);
            var type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(data[2..]) & 0x3fff); // drop NLA_F_NESTED / byte-order bits
            if (length < 4 || length > data.Length)
                break;
            list.Add((type, data[4..length].ToArray()));
            data = data[Math.Min(NetlinkRoute.Align(length), data.Length)..];
        }
        return list;
    }
}

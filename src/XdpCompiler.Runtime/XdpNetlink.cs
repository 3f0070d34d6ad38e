using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using XdpCompiler.Runtime.Interop;

namespace XdpCompiler.Runtime;

/// <summary>The XDP_FLAGS_* of a netlink attach besides the mode.</summary>
[Flags]
public enum XdpAttachFlags : uint
{
    None = 0,
    /// <summary>XDP_FLAGS_UPDATE_IF_NOEXIST: fail (EBUSY) instead of replacing a program already attached in the mode.</summary>
    UpdateIfNoExist = 1,
}

/// <summary>
/// The older way to attach XDP: RTM_SETLINK with IFLA_XDP, as <c>ip link set dev … xdp</c> does. Unlike a bpf_link
/// the attachment belongs to the interface, not to a descriptor: it stays after this process exits, until
/// <see cref="Detach"/> (or <c>ip link set dev … xdp off</c>). Prefer <see cref="LoadedProgram.Attach(string, XdpMode)"/>;
/// this is for offload, for tools that must interoperate with iproute2, and for kernels before 5.9.
/// </summary>
public static unsafe class XdpNetlink
{
    private const ushort RtmSetLink = 19;
    private const ushort NlmsgError = 2;
    private const ushort NlmFRequest = 1, NlmFAck = 4;
    private const ushort NlmFCapped = 0x100, NlmFAckTlvs = 0x200;
    private const ushort IflaXdp = 43, NlaFNested = 0x8000;
    private const ushort IflaXdpFd = 1, IflaXdpFlags = 3, IflaXdpExpectedFd = 8;
    private const ushort NlmsgerrAttrMsg = 1;
    private const uint XdpFlagsReplace = 1u << 4;
    private const int HeaderSize = 16, IfInfoSize = 16;

    private static int s_sequence;

    /// <summary>
    /// Attaches <paramref name="program"/> to <paramref name="interfaceName"/> in <paramref name="mode"/> (Auto lets the
    /// kernel pick native when the driver has it). Without flags a program already attached in the mode is replaced;
    /// <see cref="XdpAttachFlags.UpdateIfNoExist"/> refuses that; <paramref name="replacing"/> replaces only if that
    /// program is the one attached (XDP_FLAGS_REPLACE, Linux 5.7+). Returns what netlink reports afterwards.
    /// </summary>
    public static XdpAttachment Attach(string interfaceName, LoadedProgram program, XdpMode mode = XdpMode.Auto,
        XdpAttachFlags flags = XdpAttachFlags.None, LoadedProgram? replacing = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        var index = Index(interfaceName, $"attach program {program.Name} to {interfaceName} by netlink ({Describe(mode)} mode)");
        program.CheckAttachableToInterface(interfaceName);
        Set(index, interfaceName, program, mode, flags, replacing,
            $"attach program {program.Name} to {interfaceName} by netlink ({Describe(mode)} mode{DescribeFlags(flags, replacing)})");
        return XdpQuery.Get(index, interfaceName);
    }

    /// <summary>
    /// Removes the program attached by netlink in <paramref name="mode"/> (Auto: whichever of native or generic is
    /// there); with <paramref name="expected"/>, only if that program is the one attached. Nothing attached is not an
    /// error. A program held by a bpf_link cannot be removed this way (EBUSY): close or detach the link.
    /// </summary>
    public static void Detach(string interfaceName, XdpMode mode = XdpMode.Auto, LoadedProgram? expected = null)
    {
        var operation = $"detach the XDP program of {interfaceName} by netlink ({Describe(mode)} mode)";
        var index = Index(interfaceName, operation);
        if (mode == XdpMode.Auto)
        {
            // The kernel needs the mode to detach: ask which one is in use.
            var attached = XdpQuery.Get(index, interfaceName);
            mode = attached.Mode switch
            {
                XdpAttachedMode.Generic => XdpMode.Generic,
                XdpAttachedMode.Offload => XdpMode.Offload,
                XdpAttachedMode.None => XdpMode.Auto,
                _ => XdpMode.Native,
            };
            if (mode == XdpMode.Auto)
                return;
        }
        Set(index, interfaceName, null, mode, XdpAttachFlags.None, expected, operation);
    }

    private static int Index(string interfaceName, string operation)
    {
        ArgumentException.ThrowIfNullOrEmpty(interfaceName);
        try
        {
            return NetworkInterfaces.IndexOf(interfaceName);
        }
        catch (BpfException e)
        {
            throw new BpfException(BpfOperationKind.Attach, operation, e.Errno, interfaceName, e.Hint, e);
        }
    }

    private static string Describe(XdpMode mode) => mode.ToString().ToLowerInvariant();

    private static string DescribeFlags(XdpAttachFlags flags, LoadedProgram? replacing) =>
        (flags.HasFlag(XdpAttachFlags.UpdateIfNoExist) ? ", update-if-none" : "") + (replacing is null ? "" : $", replacing {replacing.Name}");

    private static void Set(int index, string interfaceName, LoadedProgram? program, XdpMode mode, XdpAttachFlags flags, LoadedProgram? expected, string operation)
    {
        if (mode is not (XdpMode.Auto or XdpMode.Generic or XdpMode.Native or XdpMode.Offload))
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "Use Auto, Generic, Native or Offload.");
        if ((flags & ~XdpAttachFlags.UpdateIfNoExist) != 0)
            throw new ArgumentOutOfRangeException(nameof(flags), flags, "Use None or UpdateIfNoExist (replace through the 'replacing' program).");
        if (expected is not null && flags.HasFlag(XdpAttachFlags.UpdateIfNoExist))
            throw new ArgumentException("UpdateIfNoExist and replacing an expected program contradict each other (the kernel refuses both at once).", nameof(flags));

        var addedProgram = false;
        var addedExpected = false;
        try
        {
            program?.Fd.DangerousAddRef(ref addedProgram);
            expected?.Fd.DangerousAddRef(ref addedExpected);
            var xdpFlags = (uint)mode | (uint)flags | (expected is null ? 0 : XdpFlagsReplace);
            var fd = program is null ? -1 : program.Fd.Value;

            var nested = 8 + 8 + (expected is null ? 0 : 8);
            var length = HeaderSize + IfInfoSize + 4 + nested;
            var request = new byte[length];
            var sequence = (uint)Interlocked.Increment(ref s_sequence);
            BinaryPrimitives.WriteUInt32LittleEndian(request, (uint)length);
            BinaryPrimitives.WriteUInt16LittleEndian(request.AsSpan(4), RtmSetLink);
            BinaryPrimitives.WriteUInt16LittleEndian(request.AsSpan(6), NlmFRequest | NlmFAck);
            BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(8), sequence);
            BinaryPrimitives.WriteInt32LittleEndian(request.AsSpan(HeaderSize + 4), index); // ifinfomsg.ifi_index
            var at = HeaderSize + IfInfoSize;
            at = Attribute(request, at, (ushort)(IflaXdp | NlaFNested), 4 + nested, null);
            at = Attribute(request, at, IflaXdpFd, 8, fd);
            at = Attribute(request, at, IflaXdpFlags, 8, (int)xdpFlags);
            if (expected is not null)
                Attribute(request, at, IflaXdpExpectedFd, 8, expected.Fd.Value);

            var (errno, message) = Exchange(request, sequence, interfaceName, operation);
            if (errno != 0)
                throw Error(operation, interfaceName, errno, mode, flags, expected, message, program is null);
        }
        finally
        {
            if (addedExpected)
                expected!.Fd.DangerousRelease();
            if (addedProgram)
                program!.Fd.DangerousRelease();
        }
    }

    /// <summary>Writes one attribute header (and a 32-bit payload) at <paramref name="at"/>; returns where the next goes.</summary>
    private static int Attribute(byte[] buffer, int at, ushort type, int length, int? value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(at), (ushort)length);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(at + 2), type);
        if (value is not { } v)
            return at + 4;
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(at + 4), v);
        return at + 8;
    }

    /// <summary>Sends the request and reads the kernel's acknowledgement: (0, null) or (errno, extended-ack message).</summary>
    private static (int Errno, string? Message) Exchange(byte[] request, uint sequence, string interfaceName, string operation) =>
        NetlinkRoute.Exchange(request, sequence, interfaceName, operation,
            (ReadOnlySpan<byte> message, ushort type, ushort flags, out (int Errno, string? Message) ack) =>
            {
                ack = default;
                if (type != NlmsgError || message.Length < HeaderSize + 4)
                    return false;
                var errno = -BinaryPrimitives.ReadInt32LittleEndian(message[HeaderSize..]);
                ack = (errno, errno == 0 ? null : ExtendedAck(message, flags));
                return true;
            });

    /// <summary>NLMSGERR_ATTR_MSG from an error message's trailing attributes, when the kernel sent one.</summary>
    private static string? ExtendedAck(ReadOnlySpan<byte> message, ushort flags)
    {
        if ((flags & NlmFAckTlvs) == 0)
            return null;
        // After the errno comes the request: its header only when capped, else all of it.
        var original = message[(HeaderSize + 4)..];
        if (original.Length < HeaderSize)
            return null;
        var echoed = (flags & NlmFCapped) != 0 ? HeaderSize : (int)BinaryPrimitives.ReadUInt32LittleEndian(original);
        var attributes = original[Math.Min((echoed + 3) & ~3, original.Length)..];
        while (attributes.Length >= 4)
        {
            var length = BinaryPrimitives.ReadUInt16LittleEndian(attributes);
            var type = BinaryPrimitives.ReadUInt16LittleEndian(attributes[2..]);
            if (length < 4 || length > attributes.Length)
                break;
            if (type == NlmsgerrAttrMsg)
                return Encoding.UTF8.GetString(attributes[4..length]).TrimEnd('\0');
            attributes = attributes[Math.Min((length + 3) & ~3, attributes.Length)..];
        }
        return null;
    }

    private static BpfException Error(string operation, string name, int errno, XdpMode mode, XdpAttachFlags flags, LoadedProgram? expected, string? kernel, bool detaching)
    {
        var said = kernel is null ? "" : $" The kernel says: \"{kernel}\".";
        string? hint = (errno, mode) switch
        {
            (Errno.EBUSY, _) when flags.HasFlag(XdpAttachFlags.UpdateIfNoExist) =>
                $"{name} already has an XDP program in this mode and UpdateIfNoExist forbids replacing it: detach it first (XdpNetlink.Detach, or ip link set dev {name} xdp off), or attach without the flag to replace it.",
            (Errno.EBUSY, _) =>
                $"A bpf_link holds the XDP program of {name}; netlink cannot replace or remove it. Close or detach that link (xdpc detach --interface {name}).",
            (Errno.EEXIST, _) when expected is not null =>
                $"The program attached to {name} is not {expected.Name}, so the replace-if-expected (XDP_FLAGS_REPLACE) was refused; query what is attached (XdpQuery.Get) and retry.",
            (Errno.EEXIST, _) =>
                $"{name} already has an XDP program in another mode; one interface runs native or generic XDP, not both: detach the other first.",
            (Errno.EINVAL or Errno.EOPNOTSUPP or Errno.ENOTSUPP, XdpMode.Offload) =>
                $"The driver of {name} cannot run XDP in hardware (XDP_FLAGS_HW_MODE): only offload-capable NICs can, with a program loaded for that device. Use XdpMode.Native or XdpMode.Generic.",
            (Errno.EINVAL or Errno.EOPNOTSUPP or Errno.ENOTSUPP, XdpMode.Native) when !detaching =>
                $"The driver of {name} does not support native XDP (XDP_FLAGS_DRV_MODE); use XdpMode.Generic, or XdpMode.Auto to let the kernel choose.",
            _ => null,
        };
        if (hint is null)
        {
            var general = BpfErrors.Create(BpfOperationKind.Attach, operation, name, errno, mode == XdpMode.Auto ? null : Describe(mode));
            return kernel is null ? general : new BpfException(BpfOperationKind.Attach, operation, errno, name, ((general.Hint ?? "") + said).Trim());
        }
        return new BpfException(BpfOperationKind.Attach, operation, errno, name, hint + said);
    }
}

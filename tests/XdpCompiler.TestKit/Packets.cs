using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace XdpCompiler.TestKit;

/// <summary>
/// Builds test frames layer by layer, outermost first:
/// <code>Packets.Ethernet().Vlan(100).IPv4("198.18.0.1", "198.18.0.2").Udp(1234, 53).Payload("hi").Build()</code>
/// Each layer's type field (EtherType, IP protocol / next header), every length field and every checksum (IPv4
/// header, UDP, TCP, ICMP, ICMPv6, with the IP pseudo-header) are filled in from the layers inside it, so a frame is
/// what a real stack would send unless a test asks otherwise. Frames carry no FCS and no padding to 60 bytes.
/// Builders are immutable: each call returns a new builder, so a common prefix can be reused.
/// </summary>
public static class Packets
{
    public const string DefaultDestinationMac = "02:00:00:00:00:02";
    public const string DefaultSourceMac = "02:00:00:00:00:01";

    public const int EthernetHeaderLength = 14;
    public const int VlanTagLength = 4;
    public const int IPv4HeaderLength = 20;
    public const int IPv6HeaderLength = 40;
    public const int UdpHeaderLength = 8;
    public const int TcpHeaderLength = 20;
    public const int IcmpEchoHeaderLength = 8;
    public const int ArpLength = 28;

    /// <summary>Starts a frame with an Ethernet II header; its EtherType comes from the next layer unless given.</summary>
    public static PacketBuilder Ethernet(string destination = DefaultDestinationMac, string source = DefaultSourceMac, ushort? etherType = null) =>
        new([new EthernetLayer(ParseMac(destination), ParseMac(source), etherType)]);

    /// <summary>The first <paramref name="length"/> bytes of <paramref name="frame"/>: a frame cut short.</summary>
    public static byte[] Truncate(this byte[] frame, int length)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (length < 0 || length > frame.Length)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"The frame has {frame.Length} bytes; a truncation keeps 0..{frame.Length} of them.");
        return frame.AsSpan(0, length).ToArray();
    }

    /// <summary>The Internet checksum (RFC 1071) of <paramref name="data"/>, continuing from a partial sum.</summary>
    public static ushort InternetChecksum(ReadOnlySpan<byte> data, uint partialSum = 0) => Fold(Sum(data, partialSum));

    /// <summary>True when an IPv4 header (IHL included) sums to zero, as a receiver checks it.</summary>
    public static bool IsIPv4HeaderChecksumValid(ReadOnlySpan<byte> ipv4Header)
    {
        if (ipv4Header.Length < IPv4HeaderLength)
            return false;
        var headerLength = (ipv4Header[0] & 0x0f) * 4;
        return headerLength >= IPv4HeaderLength && headerLength <= ipv4Header.Length && InternetChecksum(ipv4Header[..headerLength]) == 0;
    }

    internal static uint Sum(ReadOnlySpan<byte> data, uint sum)
    {
        var i = 0;
        for (; i + 1 < data.Length; i += 2)
            sum += (uint)(data[i] << 8 | data[i + 1]);
        if (i < data.Length)
            sum += (uint)(data[i] << 8);
        return sum;
    }

    internal static ushort Fold(uint sum)
    {
        while (sum > 0xffff)
            sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)~sum;
    }

    internal static byte[] ParseMac(string mac)
    {
        var parts = mac.Split(':', '-');
        if (parts.Length != 6)
            throw new FormatException($"'{mac}' is not a MAC address (six hex bytes separated by ':').");
        return parts.Select(p => Convert.ToByte(p, 16)).ToArray();
    }

    internal static IPAddress ParseIp(string address, AddressFamily family, string layer)
    {
        var ip = IPAddress.Parse(address);
        if (ip.AddressFamily != family)
            throw new ArgumentException($"{layer} needs an {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} address, not '{address}'.");
        return ip;
    }
}

/// <summary>TCP header flags (the low byte of the flags field).</summary>
[Flags]
public enum TcpFlags : byte
{
    None = 0,
    Fin = 0x01,
    Syn = 0x02,
    Rst = 0x04,
    Psh = 0x08,
    Ack = 0x10,
    Urg = 0x20,
}

/// <summary>An immutable stack of layers; <see cref="Build"/> serialises it innermost first.</summary>
public sealed class PacketBuilder
{
    private readonly IReadOnlyList<PacketLayer> _layers;

    internal PacketBuilder(IReadOnlyList<PacketLayer> layers) => _layers = layers;

    /// <summary>An 802.1Q tag; the tag's EtherType comes from the next layer.</summary>
    public PacketBuilder Vlan(ushort vlanId, byte priority = 0, ushort tagProtocol = 0x8100)
    {
        if (vlanId > 0x0fff)
            throw new ArgumentOutOfRangeException(nameof(vlanId), vlanId, "A VLAN id has 12 bits (0..4095).");
        if (priority > 7)
            throw new ArgumentOutOfRangeException(nameof(priority), priority, "A VLAN priority has 3 bits (0..7).");
        return Add(new VlanLayer(vlanId, priority, tagProtocol));
    }

    /// <summary>An IPv4 header (with <paramref name="options"/>, a multiple of 4 bytes); checksum and lengths filled in.</summary>
    public PacketBuilder IPv4(string source, string destination, byte ttl = 64, ushort identification = 0,
        bool dontFragment = true, bool moreFragments = false, ushort fragmentOffset = 0, byte[]? options = null, byte? protocol = null)
    {
        options ??= [];
        if (options.Length % 4 != 0 || options.Length > 40)
            throw new ArgumentException($"IPv4 options are a multiple of 4 bytes, at most 40; got {options.Length}.", nameof(options));
        if (fragmentOffset > 0x1fff)
            throw new ArgumentOutOfRangeException(nameof(fragmentOffset), fragmentOffset, "The fragment offset has 13 bits (in 8-byte units).");
        return Add(new IPv4Layer(Packets.ParseIp(source, AddressFamily.InterNetwork, "IPv4"), Packets.ParseIp(destination, AddressFamily.InterNetwork, "IPv4"),
            ttl, identification, dontFragment, moreFragments, fragmentOffset, options, protocol));
    }

    /// <summary>An IPv6 header without extension headers; payload length filled in.</summary>
    public PacketBuilder IPv6(string source, string destination, byte hopLimit = 64, uint flowLabel = 0, byte? nextHeader = null) =>
        Add(new IPv6Layer(Packets.ParseIp(source, AddressFamily.InterNetworkV6, "IPv6"), Packets.ParseIp(destination, AddressFamily.InterNetworkV6, "IPv6"),
            hopLimit, flowLabel & 0xfffff, nextHeader));

    public PacketBuilder Udp(ushort sourcePort, ushort destinationPort) => Add(new UdpLayer(sourcePort, destinationPort));

    public PacketBuilder Tcp(ushort sourcePort, ushort destinationPort, TcpFlags flags = TcpFlags.Syn, uint sequence = 1, uint acknowledgment = 0, ushort window = 64240) =>
        Add(new TcpLayer(sourcePort, destinationPort, flags, sequence, acknowledgment, window));

    /// <summary>An ICMP echo request (or reply) inside IPv4, an ICMPv6 one inside IPv6.</summary>
    public PacketBuilder IcmpEcho(ushort identifier, ushort sequence, bool reply = false) => Add(new IcmpEchoLayer(identifier, sequence, reply));

    /// <summary>An Ethernet/IPv4 ARP message (1 = request, 2 = reply).</summary>
    public PacketBuilder Arp(ushort operation, string senderMac, string senderIp, string targetMac, string targetIp) =>
        Add(new ArpLayer(operation, Packets.ParseMac(senderMac), Packets.ParseIp(senderIp, AddressFamily.InterNetwork, "ARP"),
            Packets.ParseMac(targetMac), Packets.ParseIp(targetIp, AddressFamily.InterNetwork, "ARP")));

    public PacketBuilder Payload(ReadOnlySpan<byte> bytes) => Add(new PayloadLayer(bytes.ToArray()));

    public PacketBuilder Payload(string text) => Payload(Encoding.ASCII.GetBytes(text));

    /// <summary><paramref name="length"/> bytes counting up from 0 (so a truncation is easy to spot in a dump).</summary>
    public PacketBuilder Payload(int length) => Payload(Enumerable.Range(0, length).Select(i => (byte)i).ToArray());

    public byte[] Build()
    {
        var inner = Array.Empty<byte>();
        for (var i = _layers.Count - 1; i >= 0; i--)
        {
            var next = i + 1 < _layers.Count ? _layers[i + 1] : null;
            var enclosing = _layers.Take(i).OfType<IpLayer>().LastOrDefault();
            inner = _layers[i].Write(inner, next, enclosing);
        }
        return inner;
    }

    public override string ToString() => string.Join(" / ", _layers);

    private PacketBuilder Add(PacketLayer layer)
    {
        var last = _layers[^1];
        if (last is PayloadLayer)
            throw new InvalidOperationException($"Nothing can follow the payload (adding {layer} after {this}).");
        if (layer is UdpLayer or TcpLayer or IcmpEchoLayer && last is not IpLayer)
            throw new InvalidOperationException($"{layer} must follow an IPv4 or IPv6 layer (it follows {last}).");
        return new PacketBuilder([.. _layers, layer]);
    }
}

internal abstract record PacketLayer
{
    /// <summary>The EtherType announcing this layer, for a layer that can follow Ethernet or a VLAN tag.</summary>
    public virtual ushort? EtherType => null;

    /// <summary>The IP protocol number announcing this layer, for a layer that can follow IP.</summary>
    public virtual byte? IpProtocol(IpLayer enclosing) => null;

    public abstract byte[] Write(byte[] inner, PacketLayer? next, IpLayer? enclosingIp);

    protected static byte[] Concat(ReadOnlySpan<byte> header, ReadOnlySpan<byte> inner)
    {
        var result = new byte[header.Length + inner.Length];
        header.CopyTo(result);
        inner.CopyTo(result.AsSpan(header.Length));
        return result;
    }

    protected static ushort NextEtherType(PacketLayer owner, PacketLayer? next, ushort? explicitType) =>
        explicitType ?? next?.EtherType
        ?? throw new InvalidOperationException($"{owner} needs an EtherType: follow it with VLAN, IPv4, IPv6 or ARP, or give one.");
}

internal abstract record IpLayer : PacketLayer
{
    /// <summary>The pseudo-header sum for an upper-layer checksum (RFC 768/793, RFC 8200 §8.1).</summary>
    public abstract uint PseudoHeaderSum(byte protocol, int upperLength);
}

internal sealed record EthernetLayer(byte[] Destination, byte[] Source, ushort? ExplicitEtherType) : PacketLayer
{
    public override byte[] Write(byte[] inner, PacketLayer? next, IpLayer? enclosingIp)
    {
        Span<byte> header = stackalloc byte[Packets.EthernetHeaderLength];
        Destination.CopyTo(header);
        Source.CopyTo(header[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(header[12..], NextEtherType(this, next, ExplicitEtherType));
        return Concat(header, inner);
    }

    public override string ToString() => "Ethernet";
}

internal sealed record VlanLayer(ushort VlanId, byte Priority, ushort TagProtocol) : PacketLayer
{
    public override ushort? EtherType => TagProtocol;

    public override byte[] Write(byte[] inner, PacketLayer? next, IpLayer? enclosingIp)
    {
        // The tag protocol id sits in the enclosing header's EtherType; the tag itself is TCI + the inner EtherType.
        Span<byte> tag = stackalloc byte[Packets.VlanTagLength];
        BinaryPrimitives.WriteUInt16BigEndian(tag, (ushort)(Priority << 13 | VlanId));
        BinaryPrimitives.WriteUInt16BigEndian(tag[2..], NextEtherType(this, next, null));
        return Concat(tag, inner);
    }

    public override string ToString() => $"VLAN {VlanId}";
}

internal sealed record IPv4Layer(IPAddress Source, IPAddress Destination, byte Ttl, ushort Identification,
    bool DontFragment, bool MoreFragments, ushort FragmentOffset, byte[] Options, byte? ExplicitProtocol) : IpLayer
{
    public override ushort? EtherType => 0x0800;

    public override byte[] Write(byte[] inner, PacketLayer? next, IpLayer? enclosingIp)
    {
        var headerLength = Packets.IPv4HeaderLength + Options.Length;
        var header = new byte[headerLength];
        header[0] = (byte)(0x40 | headerLength / 4);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), checked((ushort)(headerLength + inner.Length)));
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), Identification);
        var flags = (DontFragment ? 0x4000 : 0) | (MoreFragments ? 0x2000 : 0) | FragmentOffset;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(6), (ushort)flags);
        header[8] = Ttl;
        header[9] = ExplicitProtocol ?? next?.IpProtocol(this)
            ?? throw new InvalidOperationException("An IPv4 header needs a protocol: follow it with UDP, TCP or ICMP, or give one.");
        Source.GetAddressBytes().CopyTo(header, 12);
        Destination.GetAddressBytes().CopyTo(header, 16);
        Options.CopyTo(header, 20);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), Packets.InternetChecksum(header));
        return Concat(header, inner);
    }

    public override uint PseudoHeaderSum(byte protocol, int upperLength)
    {
        var sum = Packets.Sum(Source.GetAddressBytes(), 0);
        sum = Packets.Sum(Destination.GetAddressBytes(), sum);
        return sum + protocol + (uint)upperLength;
    }

    public override string ToString() => $"IPv4 {Source} > {Destination}";
}

internal sealed record IPv6Layer(IPAddress Source, IPAddress Destination, byte HopLimit, uint FlowLabel, byte? ExplicitNextHeader) : IpLayer
{
    public override ushort? EtherType => 0x86DD;

    public override byte[] Write(byte[] inner, PacketLayer? next, IpLayer? enclosingIp)
    {
        var header = new byte[Packets.IPv6HeaderLength];
        BinaryPrimitives.WriteUInt32BigEndian(header, 6u << 28 | FlowLabel);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), checked((ushort)inner.Length));
        header[6] = ExplicitNextHeader ?? next?.IpProtocol(this)
            ?? throw new InvalidOperationException("An IPv6 header needs a next header: follow it with UDP, TCP or ICMPv6, or give one.");
        header[7] = HopLimit;
        Source.GetAddressBytes().CopyTo(header, 8);
        Destination.GetAddressBytes().CopyTo(header, 24);
        return Concat(header, inner);
    }

    public override uint PseudoHeaderSum(byte protocol, int upperLength)
    {
        var sum = Packets.Sum(Source.GetAddressBytes(), 0);
        sum = Packets.Sum(Destination.GetAddressBytes(), sum);
        return sum + (uint)(upperLength >> 16) + (uint)(upperLength & 0xffff) + protocol;
    }

    public override string ToString() => $"IPv6 {Source} > {Destination}";
}

internal sealed record UdpLayer(ushort SourcePort, ushort DestinationPort) : PacketLayer
{
    public override byte? IpProtocol(IpLayer enclosing) => 17;

    public override byte[] Write(byte[] inner, PacketLayer? next, IpLayer? enclosingIp)
    {
        var header = new byte[Packets.UdpHeaderLength];
        var length = checked((ushort)(header.Length + inner.Length));
        BinaryPrimitives.WriteUInt16BigEndian(header, SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), DestinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), length);
        var segment = Concat(header, inner);
        var checksum = Packets.InternetChecksum(segment, enclosingIp!.PseudoHeaderSum(17, length));
        // A computed 0 is sent as all ones: 0 means "no checksum" in UDP over IPv4.
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(6), checksum == 0 ? (ushort)0xffff : checksum);
        return segment;
    }

    public override string ToString() => $"UDP {SourcePort} > {DestinationPort}";
}

internal sealed record TcpLayer(ushort SourcePort, ushort DestinationPort, TcpFlags Flags, uint Sequence, uint Acknowledgment, ushort Window) : PacketLayer
{
    public override byte? IpProtocol(IpLayer enclosing) => 6;

    public override byte[] Write(byte[] inner, PacketLayer? next, IpLayer? enclosingIp)
    {
        var header = new byte[Packets.TcpHeaderLength];
        BinaryPrimitives.WriteUInt16BigEndian(header, SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), DestinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), Sequence);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(8), Acknowledgment);
        header[12] = Packets.TcpHeaderLength / 4 << 4;
        header[13] = (byte)Flags;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), Window);
        var segment = Concat(header, inner);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(16), Packets.InternetChecksum(segment, enclosingIp!.PseudoHeaderSum(6, segment.Length)));
        return segment;
    }

    public override string ToString() => $"TCP {SourcePort} > {DestinationPort} [{Flags}]";
}

internal sealed record IcmpEchoLayer(ushort Identifier, ushort Sequence, bool Reply) : PacketLayer
{
    public override byte? IpProtocol(IpLayer enclosing) => enclosing is IPv6Layer ? (byte)58 : (byte)1;

    public override byte[] Write(byte[] inner, PacketLayer? next, IpLayer? enclosingIp)
    {
        var v6 = enclosingIp is IPv6Layer;
        var header = new byte[Packets.IcmpEchoHeaderLength];
        header[0] = v6 ? (byte)(Reply ? 129 : 128) : (byte)(Reply ? 0 : 8);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), Identifier);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(6), Sequence);
        var message = Concat(header, inner);
        // ICMPv6 covers the IPv6 pseudo-header; ICMP for IPv4 covers only the message.
        var partial = v6 ? enclosingIp!.PseudoHeaderSum(58, message.Length) : 0;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), Packets.InternetChecksum(message, partial));
        return message;
    }

    public override string ToString() => $"ICMP echo {(Reply ? "reply" : "request")} {Identifier}/{Sequence}";
}

internal sealed record ArpLayer(ushort Operation, byte[] SenderMac, IPAddress SenderIp, byte[] TargetMac, IPAddress TargetIp) : PacketLayer
{
    public override ushort? EtherType => 0x0806;

    public override byte[] Write(byte[] inner, PacketLayer? next, IpLayer? enclosingIp)
    {
        var message = new byte[Packets.ArpLength];
        BinaryPrimitives.WriteUInt16BigEndian(message, 1); // Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), 0x0800);
        message[4] = 6;
        message[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(6), Operation);
        SenderMac.CopyTo(message, 8);
        SenderIp.GetAddressBytes().CopyTo(message, 14);
        TargetMac.CopyTo(message, 18);
        TargetIp.GetAddressBytes().CopyTo(message, 24);
        return Concat(message, inner);
    }

    public override string ToString() => $"ARP {(Operation == 1 ? "request" : Operation == 2 ? "reply" : $"op {Operation}")} {TargetIp}";
}

internal sealed record PayloadLayer(byte[] Bytes) : PacketLayer
{
    public override byte[] Write(byte[] inner, PacketLayer? next, IpLayer? enclosingIp) => Bytes;

    public override string ToString() => $"{Bytes.Length} bytes";
}

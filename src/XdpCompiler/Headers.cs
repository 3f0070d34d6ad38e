using System.Runtime.InteropServices;

namespace XdpCompiler;

/// <summary>EtherType values in host order; compare them with <see cref="EthernetHeader.EtherType"/>.</summary>
public enum EtherType : ushort
{
    IPv4 = 0x0800,
    Arp = 0x0806,
    Vlan = 0x8100,
    QinQ = 0x88A8,
    IPv6 = 0x86DD,
}

/// <summary>IP protocol numbers (IPv4 <c>protocol</c>, IPv6 <c>next header</c>).</summary>
public enum IpProtocol : byte
{
    Icmp = 1,
    Tcp = 6,
    Udp = 17,
    IPv6Icmp = 58,
}

/// <summary>An Ethernet II header as it lies in the packet: 14 bytes, multi-byte fields in network order.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct EthernetHeader
{
    public fixed byte Destination[6];
    public fixed byte Source[6];

    /// <summary>The EtherType in network order, as on the wire.</summary>
    public ushort EtherTypeNetworkOrder;

    [NetworkOrderField(nameof(EtherTypeNetworkOrder))]
    public EtherType EtherType => (EtherType)ByteOrder.NetworkToHost(EtherTypeNetworkOrder);
}

/// <summary>An IPv4 header without options: 20 bytes, multi-byte fields in network order.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct IPv4Header
{
    /// <summary>Version (high nibble) and header length in 32-bit words (low nibble).</summary>
    public byte VersionAndHeaderLength;
    public byte TypeOfService;
    public ushort TotalLengthNetworkOrder;
    public ushort IdentificationNetworkOrder;
    public ushort FragmentOffsetNetworkOrder;
    public byte TimeToLive;
    public IpProtocol Protocol;
    public ushort ChecksumNetworkOrder;
    public uint SourceAddressNetworkOrder;
    public uint DestinationAddressNetworkOrder;

    [NetworkOrderField(nameof(TotalLengthNetworkOrder))]
    public ushort TotalLength => ByteOrder.NetworkToHost(TotalLengthNetworkOrder);

    [NetworkOrderField(nameof(IdentificationNetworkOrder))]
    public ushort Identification => ByteOrder.NetworkToHost(IdentificationNetworkOrder);

    [NetworkOrderField(nameof(FragmentOffsetNetworkOrder))]
    public ushort FragmentOffset => ByteOrder.NetworkToHost(FragmentOffsetNetworkOrder);

    [NetworkOrderField(nameof(ChecksumNetworkOrder))]
    public ushort Checksum => ByteOrder.NetworkToHost(ChecksumNetworkOrder);

    [NetworkOrderField(nameof(SourceAddressNetworkOrder))]
    public uint SourceAddress => ByteOrder.NetworkToHost(SourceAddressNetworkOrder);

    [NetworkOrderField(nameof(DestinationAddressNetworkOrder))]
    public uint DestinationAddress => ByteOrder.NetworkToHost(DestinationAddressNetworkOrder);
}

/// <summary>A UDP header: 8 bytes, fields in network order.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct UdpHeader
{
    public ushort SourcePortNetworkOrder;
    public ushort DestinationPortNetworkOrder;
    public ushort LengthNetworkOrder;
    public ushort ChecksumNetworkOrder;

    [NetworkOrderField(nameof(SourcePortNetworkOrder))]
    public ushort SourcePort => ByteOrder.NetworkToHost(SourcePortNetworkOrder);

    [NetworkOrderField(nameof(DestinationPortNetworkOrder))]
    public ushort DestinationPort => ByteOrder.NetworkToHost(DestinationPortNetworkOrder);

    [NetworkOrderField(nameof(LengthNetworkOrder))]
    public ushort Length => ByteOrder.NetworkToHost(LengthNetworkOrder);

    [NetworkOrderField(nameof(ChecksumNetworkOrder))]
    public ushort Checksum => ByteOrder.NetworkToHost(ChecksumNetworkOrder);
}

using System.Buffers.Binary;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Samples.Tests;

/// <summary>The packet builder the table relies on: lengths, type fields and checksums as a real stack writes them.</summary>
public sealed class PacketsTests
{
    [Fact]
    public void IPv4_header_checksum_matches_a_known_header()
    {
        // A classic worked example: 192.168.0.1 -> 192.168.0.199, UDP, total length 0x73, checksum 0xb861.
        var frame = Packets.Ethernet().IPv4("192.168.0.1", "192.168.0.199", ttl: 64, identification: 0).Udp(1, 2).Payload(0x73 - 28).Build();
        var ip = frame.AsSpan(Packets.EthernetHeaderLength, Packets.IPv4HeaderLength);

        Assert.Equal(0x0073, BinaryPrimitives.ReadUInt16BigEndian(ip[2..]));
        Assert.Equal(0xb861, BinaryPrimitives.ReadUInt16BigEndian(ip[10..]));
        Assert.True(Packets.IsIPv4HeaderChecksumValid(ip));
    }

    [Fact]
    public void Udp_over_IPv4_has_lengths_types_and_checksums_filled_in()
    {
        var frame = Packets.Ethernet().IPv4("198.18.0.2", "198.18.0.1").Udp(40000, 53).Payload(32).Build();

        Assert.Equal(14 + 20 + 8 + 32, frame.Length);
        Assert.Equal(0x0800, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)));
        Assert.Equal(0x45, frame[14]);
        Assert.Equal(17, frame[14 + 9]);
        Assert.Equal(20 + 8 + 32, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(14 + 2)));
        Assert.Equal(8 + 32, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(34 + 4)));
        Assert.True(Packets.IsIPv4HeaderChecksumValid(frame.AsSpan(14)));
        // A correct UDP checksum makes the pseudo-header plus the segment sum to zero.
        var pseudo = Packets.InternetChecksum([198, 18, 0, 2, 198, 18, 0, 1, 0, 17, 0, 40]);
        Assert.Equal(0, Packets.InternetChecksum(frame.AsSpan(34), (ushort)~pseudo));
    }

    [Fact]
    public void Tcp_and_ICMP_checksums_verify()
    {
        var tcp = Packets.Ethernet().IPv4("198.18.0.2", "198.18.0.1").Tcp(40000, 80, TcpFlags.Syn).Build();
        var pseudo = Packets.InternetChecksum([198, 18, 0, 2, 198, 18, 0, 1, 0, 6, 0, 20]);
        Assert.Equal(0, Packets.InternetChecksum(tcp.AsSpan(34), (ushort)~pseudo));
        Assert.Equal(0x02, tcp[34 + 13]);
        Assert.Equal(0x50, tcp[34 + 12]);

        var icmp = Packets.Ethernet().IPv4("198.18.0.2", "198.18.0.1").IcmpEcho(7, 9).Payload(56).Build();
        Assert.Equal(1, icmp[14 + 9]);
        Assert.Equal(8, icmp[34]);
        Assert.Equal(0, Packets.InternetChecksum(icmp.AsSpan(34)));
    }

    [Fact]
    public void Vlan_IPv6_and_ARP_frames_have_their_type_fields_and_lengths()
    {
        var vlan = Packets.Ethernet().Vlan(100, priority: 5).IPv4("198.18.0.2", "198.18.0.1").Udp(1, 2).Build();
        Assert.Equal(0x8100, BinaryPrimitives.ReadUInt16BigEndian(vlan.AsSpan(12)));
        Assert.Equal(5 << 13 | 100, BinaryPrimitives.ReadUInt16BigEndian(vlan.AsSpan(14)));
        Assert.Equal(0x0800, BinaryPrimitives.ReadUInt16BigEndian(vlan.AsSpan(16)));
        Assert.Equal(14 + 4 + 20 + 8, vlan.Length);

        var v6 = Packets.Ethernet().IPv6("2001:db8::2", "2001:db8::1").Udp(1, 2).Payload(10).Build();
        Assert.Equal(0x86DD, BinaryPrimitives.ReadUInt16BigEndian(v6.AsSpan(12)));
        Assert.Equal(0x60, v6[14] & 0xf0);
        Assert.Equal(18, BinaryPrimitives.ReadUInt16BigEndian(v6.AsSpan(14 + 4)));
        Assert.Equal(17, v6[14 + 6]);

        var arp = Packets.Ethernet("ff:ff:ff:ff:ff:ff").Arp(1, Packets.DefaultSourceMac, "198.18.0.2", "00:00:00:00:00:00", "198.18.0.1").Build();
        Assert.Equal(0x0806, BinaryPrimitives.ReadUInt16BigEndian(arp.AsSpan(12)));
        Assert.Equal(14 + 28, arp.Length);
    }

    [Fact]
    public void Truncate_keeps_a_prefix_and_refuses_to_grow()
    {
        var frame = Packets.Ethernet().IPv4("198.18.0.2", "198.18.0.1").Udp(1, 2).Build();

        Assert.Equal(frame[..20], frame.Truncate(20));
        Assert.Empty(frame.Truncate(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => frame.Truncate(frame.Length + 1));
    }

    [Fact]
    public void Misplaced_layers_are_refused_with_a_reason()
    {
        Assert.Throws<InvalidOperationException>(() => Packets.Ethernet().Udp(1, 2));
        Assert.Throws<InvalidOperationException>(() => Packets.Ethernet().Build()); // no EtherType to announce
        Assert.Throws<ArgumentException>(() => Packets.Ethernet().IPv4("2001:db8::1", "198.18.0.1"));
    }
}

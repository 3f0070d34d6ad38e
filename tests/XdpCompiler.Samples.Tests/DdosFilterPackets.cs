using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Samples.Tests;

/// <summary>One row of the filter's table: a frame and what the §5.1 filter must do with it.</summary>
public sealed record FilterCase(string Name, byte[] Frame, XdpAction Expected)
{
    public override string ToString() => Name;
}

/// <summary>
/// The DDoS filter's packet table. The filter reads only the Ethernet EtherType and the IPv4 protocol byte, after
/// checking that both headers (34 bytes) are in the packet; the rows probe each of those decisions and its edges.
/// </summary>
public static class DdosFilterPackets
{
    private const string Attacker = "198.18.0.2";
    private const string Victim = "198.18.0.1";

    private static PacketBuilder IPv4() => Packets.Ethernet().IPv4(Attacker, Victim);

    private static readonly byte[] s_udp = IPv4().Udp(40000, 53).Payload(32).Build();

    public static IReadOnlyList<FilterCase> All { get; } =
    [
        new("IPv4 UDP", s_udp, XdpAction.Drop),
        new("IPv4 UDP, 1472-byte payload (a full 1500-byte IP packet)", IPv4().Udp(40000, 53).Payload(1472).Build(), XdpAction.Drop),
        new("IPv4 UDP, header with 4 bytes of options (IHL 6)", Packets.Ethernet().IPv4(Attacker, Victim, options: [1, 1, 1, 0]).Udp(40000, 53).Payload(8).Build(), XdpAction.Drop),
        new("IPv4 UDP, non-first fragment (no UDP header in it)", Packets.Ethernet().IPv4(Attacker, Victim, dontFragment: false, fragmentOffset: 185, protocol: 17).Payload(64).Build(), XdpAction.Drop),
        new("IPv4 UDP cut to 34 bytes (IPv4 header whole, UDP header missing)", s_udp.Truncate(34), XdpAction.Drop),
        new("IPv4 TCP SYN", IPv4().Tcp(40000, 80).Build(), XdpAction.Pass),
        new("IPv4 TCP ACK with data", IPv4().Tcp(40000, 80, TcpFlags.Ack | TcpFlags.Psh, 1000, 2000).Payload("GET / HTTP/1.1\r\n\r\n").Build(), XdpAction.Pass),
        new("IPv4 ICMP echo request", IPv4().IcmpEcho(1, 1).Payload(56).Build(), XdpAction.Pass),
        new("IPv4 UDP cut to 14 bytes (Ethernet header only)", s_udp.Truncate(14), XdpAction.Pass),
        new("IPv4 UDP cut to 20 bytes", s_udp.Truncate(20), XdpAction.Pass),
        new("IPv4 UDP cut to 33 bytes (one short of the IPv4 header)", s_udp.Truncate(33), XdpAction.Pass),
        new("802.1Q VLAN 100, IPv4 UDP (the filter does not parse VLAN tags)", Packets.Ethernet().Vlan(100).IPv4(Attacker, Victim).Udp(40000, 53).Payload(32).Build(), XdpAction.Pass),
        new("IPv6 UDP", Packets.Ethernet().IPv6("2001:db8::2", "2001:db8::1").Udp(40000, 53).Payload(32).Build(), XdpAction.Pass),
        new("IPv6 ICMPv6 echo request", Packets.Ethernet().IPv6("2001:db8::2", "2001:db8::1").IcmpEcho(1, 1).Payload(56).Build(), XdpAction.Pass),
        new("ARP request", Packets.Ethernet("ff:ff:ff:ff:ff:ff").Arp(1, Packets.DefaultSourceMac, Attacker, "00:00:00:00:00:00", Victim).Build(), XdpAction.Pass),
    ];

    public static FilterCase Get(string name) => All.Single(c => c.Name == name);

    /// <summary>The table as theory data: by name, so test names read as the rows.</summary>
    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var c in All)
            data.Add(c.Name);
        return data;
    }

    public static int ExpectedDrops => All.Count(c => c.Expected == XdpAction.Drop);

    public static int ExpectedPasses => All.Count(c => c.Expected == XdpAction.Pass);
}

using System.Buffers.Binary;

namespace XdpCompiler.Benchmarks;

internal static class Packets
{
    /// <summary>
    /// The timed packet: a 74-byte Ethernet/IPv4/UDP frame (198.18.0.1:40000 → 198.18.0.2:53, TTL 64, valid IP
    /// checksum, 32 bytes of payload), the common case most of the programs are written for.
    /// </summary>
    public static byte[] Ipv4Udp()
    {
        var packet = new byte[74];
        byte[] destination = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02], source = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
        destination.CopyTo(packet, 0);
        source.CopyTo(packet, 6);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(12), 0x0800);
        var ip = packet.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], 60);
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], 0x1234);
        ip[8] = 64;
        ip[9] = 17;
        byte[] from = [198, 18, 0, 1], to = [198, 18, 0, 2];
        from.CopyTo(ip[12..]);
        to.CopyTo(ip[16..]);
        uint sum = 0;
        for (var i = 0; i < 20; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(ip[i..]);
        while (sum > 0xFFFF)
            sum = (sum & 0xFFFF) + (sum >> 16);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~sum);
        var udp = packet.AsSpan(34, 8);
        BinaryPrimitives.WriteUInt16BigEndian(udp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 53);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], 40);
        for (var i = 42; i < packet.Length; i++)
            packet[i] = (byte)i;
        return packet;
    }
}

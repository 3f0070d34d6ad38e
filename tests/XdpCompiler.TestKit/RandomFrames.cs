namespace XdpCompiler.TestKit;

/// <summary>Random Ethernet frames for differential runs (kernel against .NET, ours against clang's).</summary>
public static class RandomFrames
{
    // Values at the edges the programs compare against (signs, byte limits, their own constants), so a twin that is off
    // by one at a boundary is caught in 2,000 packets rather than in the rare packet that hits it at random.
    private static readonly byte[] EdgeBytes = [0, 1, 2, 3, 4, 5, 7, 8, 10, 49, 50, 63, 64, 100, 101, 127, 128, 129, 200, 250, 254, 255];
    private static readonly int[] EdgePorts = [53, 54, 999, 1000, 1001, 1999, 2000, 5353];

    /// <summary>
    /// Self-check traffic: Ethernet frames of 14 to 200 bytes, mostly IPv4 with UDP/TCP/ICMP and interesting ports,
    /// some with IP options, some noise, and edge values sprinkled over the bytes the programs read.
    /// </summary>
    public static byte[] Next(Random random)
    {
        var packet = new byte[random.Next(14, 201)];
        random.NextBytes(packet);
        var shape = random.Next(10);
        if (shape < 8)
        {
            packet[12] = 0x08;
            packet[13] = (byte)(shape == 7 ? 0xDD : 0x00);
        }

        if (shape < 6 && packet.Length >= 34)
        {
            packet[14] = (byte)(random.Next(4) == 0 ? 0x46 : 0x45);
            packet[23] = (byte)(random.Next(4) switch { 0 => 1, 1 => 6, 2 => 17, _ => random.Next(256) });
            if (random.Next(3) == 0)
                packet[22] = (byte)random.Next(3);
            if (packet.Length >= 38 && random.Next(3) == 0)
            {
                var port = random.Next(4) switch { 0 => EdgePorts[random.Next(EdgePorts.Length)], 1 => random.Next(990, 2010), 2 => 53, _ => random.Next(65536) };
                packet[36] = (byte)(port >> 8);
                packet[37] = (byte)port;
            }
        }

        if (random.Next(2) == 0)
        {
            for (var n = random.Next(1, 6); n > 0; n--)
            {
                var at = random.Next(14, Math.Min(packet.Length, 48));
                if (at < packet.Length)
                    packet[at] = EdgeBytes[random.Next(EdgeBytes.Length)];
            }
        }

        return packet;
    }

    /// <summary>A seed that is the same in every run (string.GetHashCode is not), so a mismatch can be replayed.</summary>
    public static int Seed(string name)
    {
        var hash = 2166136261u;
        foreach (var c in name)
            hash = (hash ^ c) * 16777619u;
        return (int)(hash & 0x7FFF_FFFF);
    }
}

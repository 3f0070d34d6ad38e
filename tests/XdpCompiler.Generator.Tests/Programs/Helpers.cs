using XdpCompiler;

public static unsafe partial class Helpers
{
    [Map] static readonly PerCpuArray<ulong> Stats = new(maxEntries: 4);

    /// <summary>Static helpers in the class and in another class, inlined: bounds checks, map updates, values.</summary>
    [XdpProgram("xdp_helpers")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        if (!IsIPv4Udp(data, end))
        {
            Count(0);
            return XdpAction.Pass;
        }

        ushort port = DestinationPort(ctx);
        int score = Clamp(port - 1000, 0, 100);
        if (Classify.IsDns(port))
        {
            Count(1);
            return XdpAction.Drop;
        }

        Count(2 + (uint)(score & 1));
        return score > 50 ? XdpAction.Tx : XdpAction.Pass;
    }

    static bool IsIPv4Udp(byte* data, byte* end)
    {
        if (data + sizeof(EthernetHeader) + sizeof(IPv4Header) > end)
            return false;
        var eth = (EthernetHeader*)data;
        return eth->EtherType == EtherType.IPv4 && ((IPv4Header*)(eth + 1))->Protocol == IpProtocol.Udp;
    }

    static ushort DestinationPort(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 38 > ctx.DataEnd)
            return 0;
        return ((UdpHeader*)(data + 34))->DestinationPort;
    }

    static int Clamp(int value, int low, int high) => value < low ? low : value > high ? high : value;

    static void Count(uint slot)
    {
        ulong* counter = Stats.Lookup(slot);
        if (counter == null)
            return;
        (*counter)++;
    }
}

static class Classify
{
    public static bool IsDns(ushort port) => port == 53 || port == 5353;
}

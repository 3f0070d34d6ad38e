using XdpCompiler;

public static unsafe partial class Switches
{
    /// <summary>switch statements, switch expressions and is-patterns: constants, relational, and/or/not, guards.</summary>
    [XdpProgram("xdp_switches")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 38 > ctx.DataEnd)
            return XdpAction.Pass;
        var ip = (IPv4Header*)(data + 14);
        var udp = (UdpHeader*)(data + 34);
        int weight;
        switch (ip->Protocol)
        {
            case IpProtocol.Icmp:
                weight = 1;
                break;
            case IpProtocol.Tcp:
            case IpProtocol.Udp:
                weight = 5;
                if (ip->TimeToLive < 2)
                    return XdpAction.Drop;
                break;
            default:
                weight = 9;
                break;
        }

        ushort port = udp->DestinationPort;
        int klass = port switch
        {
            53 or 5353 => 1,
            < 1024 => 2,
            >= 1024 and < 2048 when weight == 5 => 3,
            not (>= 30000 and <= 40000) => 4,
            _ => 5,
        };
        if (data[20] is 0x40 or 0x00 && klass is not 5)
            klass += 10;
        return (klass + weight) switch
        {
            6 or 16 => XdpAction.Drop,
            > 12 => XdpAction.Tx,
            _ => XdpAction.Pass,
        };
    }
}

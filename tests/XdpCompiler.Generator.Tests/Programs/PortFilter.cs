using XdpCompiler;

public static unsafe partial class PortFilter
{
    /// <summary>Drops UDP to port 53 and to ports 1000-1999; passes the rest.</summary>
    [XdpProgram("xdp_port_filter")]
    public static XdpAction Filter(XdpContext ctx)
    {
        byte* data = ctx.Data;
        byte* end = ctx.DataEnd;
        var eth = (EthernetHeader*)data;
        var ip = (IPv4Header*)(eth + 1);
        var udp = (UdpHeader*)(ip + 1);
        if ((byte*)(udp + 1) > end)
            return XdpAction.Pass;
        if (eth->EtherType != EtherType.IPv4 || ip->Protocol != IpProtocol.Udp || (ip->VersionAndHeaderLength & 0x0F) != 5)
            return XdpAction.Pass;
        ushort port = udp->DestinationPort;
        return port == 53 || (port >= 1000 && port < 2000) ? XdpAction.Drop : XdpAction.Pass;
    }
}

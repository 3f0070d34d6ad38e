using XdpCompiler;

public static unsafe partial class UdpEcho
{
    [Map] static readonly ArrayMap<ulong> Echoed = new(maxEntries: 1);

    /// <summary>
    /// Answers UDP datagrams to port 7 from the driver: swaps MACs, addresses and ports and sends the frame back out
    /// (XDP_TX). The checksums stay valid, since swapping is a permutation of 16-bit words. Everything else passes.
    /// </summary>
    [XdpProgram("xdp_udp_echo")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        if (data + sizeof(EthernetHeader) + sizeof(IPv4Header) + sizeof(UdpHeader) > end)
            return XdpAction.Pass;
        var eth = (EthernetHeader*)data;
        var ip = (IPv4Header*)(eth + 1);
        if (eth->EtherType != EtherType.IPv4 || ip->VersionAndHeaderLength != 0x45 || ip->Protocol != IpProtocol.Udp)
            return XdpAction.Pass;
        var udp = (UdpHeader*)(ip + 1);
        if (udp->DestinationPort != 7)
            return XdpAction.Pass;

        for (int i = 0; i < 6; i++)
        {
            byte b = eth->Destination[i];
            eth->Destination[i] = eth->Source[i];
            eth->Source[i] = b;
        }
        uint address = ip->SourceAddressNetworkOrder;
        ip->SourceAddressNetworkOrder = ip->DestinationAddressNetworkOrder;
        ip->DestinationAddressNetworkOrder = address;
        ushort port = udp->SourcePortNetworkOrder;
        udp->SourcePortNetworkOrder = udp->DestinationPortNetworkOrder;
        udp->DestinationPortNetworkOrder = port;

        ulong* echoed = Echoed.Lookup(0);
        if (echoed != null)
            *echoed += 1;
        return XdpAction.Tx;
    }
}

using XdpCompiler;

public static unsafe partial class PacketRewrite
{
    /// <summary>Swaps MACs through the fixed buffers, decrements TTL, rewrites UDP ports and bounces the packet.</summary>
    [XdpProgram("xdp_rewrite")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        var eth = (EthernetHeader*)data;
        var ip = (IPv4Header*)(eth + 1);
        var udp = (UdpHeader*)(ip + 1);
        if ((byte*)(udp + 1) > end)
            return XdpAction.Pass;
        if (eth->EtherType != EtherType.IPv4)
            return XdpAction.Pass;
        byte t0 = eth->Destination[0], t1 = eth->Destination[1], t2 = eth->Destination[2];
        byte t3 = eth->Destination[3], t4 = eth->Destination[4], t5 = eth->Destination[5];
        eth->Destination[0] = eth->Source[0];
        eth->Destination[1] = eth->Source[1];
        eth->Destination[2] = eth->Source[2];
        eth->Destination[3] = eth->Source[3];
        eth->Destination[4] = eth->Source[4];
        eth->Destination[5] = eth->Source[5];
        eth->Source[0] = t0;
        eth->Source[1] = t1;
        eth->Source[2] = t2;
        eth->Source[3] = t3;
        eth->Source[4] = t4;
        eth->Source[5] = t5;
        if (ip->TimeToLive <= 1)
            return XdpAction.Drop;
        ip->TimeToLive--;
        ip->TypeOfService |= 0x10;
        // Incremental checksum update for the TTL decrement (RFC 1624), done in host order.
        uint sum = (uint)ip->Checksum + 0x0100;
        sum = (sum & 0xFFFF) + (sum >> 16);
        ip->ChecksumNetworkOrder = ByteOrder.HostToNetwork((ushort)sum);
        if (ip->Protocol == IpProtocol.Udp)
        {
            ushort src = udp->SourcePortNetworkOrder;
            udp->SourcePortNetworkOrder = udp->DestinationPortNetworkOrder;
            udp->DestinationPortNetworkOrder = src;
            if (udp->DestinationPort == 53)
                udp->DestinationPortNetworkOrder = ByteOrder.HostToNetwork((ushort)5353);
            udp->ChecksumNetworkOrder = 0;
            return XdpAction.Tx;
        }

        ip->DestinationAddressNetworkOrder = ip->SourceAddressNetworkOrder ^ 0x01000000u;
        return XdpAction.Tx;
    }
}

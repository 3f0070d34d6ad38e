using XdpCompiler;

public static unsafe partial class FibRouter
{
    /// <summary>
    /// bpf_fib_lookup for an IPv4 packet: on success the Ethernet addresses become the route's and the egress
    /// interface and result code go into the first payload bytes; the verdict is the result code's.
    /// </summary>
    [XdpProgram("xdp_fib_router")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        if (data + 42 > end)
            return XdpAction.Pass;
        var eth = (EthernetHeader*)data;
        if (eth->EtherType != EtherType.IPv4)
            return XdpAction.Pass;
        var ip = (IPv4Header*)(data + 14);
        var fib = new BpfFibLookup
        {
            Family = BpfFibLookup.AddressFamilyInet,
            L4Protocol = (byte)ip->Protocol,
            TotalLengthOrMtu = ip->TotalLength,
            Ifindex = ctx.IngressIfindex,
        };
        fib.Source[0] = ip->SourceAddressNetworkOrder;
        fib.Destination[0] = ip->DestinationAddressNetworkOrder;
        var result = ctx.FibLookup(&fib, FibLookupFlags.None);
        *(int*)(data + 34) = (int)result;
        *(uint*)(data + 38) = fib.Ifindex;
        if (result != FibLookupResult.Success)
            return XdpAction.Pass;
        for (int i = 0; i < 6; i++)
        {
            eth->Destination[i] = fib.DestinationMac[i];
            eth->Source[i] = fib.SourceMac[i];
        }

        return XdpAction.Tx;
    }
}

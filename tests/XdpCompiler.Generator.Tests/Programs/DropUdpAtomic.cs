using System.Threading;
using XdpCompiler;

public static unsafe partial class DropUdpAtomic
{
    [Map] static readonly PerCpuArray<ulong> Drops = new(maxEntries: 1);

    [XdpProgram("xdp_drop_udp")]
    public static XdpAction DropUdp(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        if (data + sizeof(EthernetHeader) + sizeof(IPv4Header) > end)
            return XdpAction.Pass;
        var eth = (EthernetHeader*)data;
        if (eth->EtherType != EtherType.IPv4)
            return XdpAction.Pass;
        var ip = (IPv4Header*)(eth + 1);
        if (ip->Protocol != IpProtocol.Udp)
            return XdpAction.Pass;
        ulong* count = Drops.Lookup(0);
        if (count != null)
            Interlocked.Increment(ref *count);
        return XdpAction.Drop;
    }
}

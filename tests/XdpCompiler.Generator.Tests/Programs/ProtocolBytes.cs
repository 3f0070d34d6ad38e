using System.Threading;
using XdpCompiler;

public static unsafe partial class ProtocolBytes
{
    [Map] static readonly PerCpuArray<ulong> BytesByProtocol = new(maxEntries: 256);
    [Map] static readonly PerCpuArray<uint> Packets = new(maxEntries: 1);

    /// <summary>Bytes per IP protocol; drops a protocol once it has carried more than 1 MB on this CPU.</summary>
    [XdpProgram("xdp_proto_bytes")]
    public static XdpAction Account(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        var eth = (EthernetHeader*)data;
        var ip = (IPv4Header*)(eth + 1);
        if ((byte*)(ip + 1) > end || eth->EtherType != EtherType.IPv4)
            return XdpAction.Pass;
        uint* packets = Packets.Lookup(0);
        if (packets != null)
            *packets += 1;
        ulong* bytes = BytesByProtocol.Lookup((uint)ip->Protocol);
        if (bytes == null)
            return XdpAction.Aborted;
        ulong total = Interlocked.Add(ref *bytes, (ulong)ip->TotalLength);
        return total > 1_000_000 ? XdpAction.Drop : XdpAction.Pass;
    }

    [XdpProgram("xdp_count_only")]
    public static XdpAction CountOnly(XdpContext ctx)
    {
        uint* packets = Packets.Lookup(0);
        if (packets != null)
            Interlocked.Increment(ref *packets);
        return XdpAction.Pass;
    }
}

namespace XdpCompiler.Samples.DdosFilter;

/// <summary>
/// The XDP paper's inline DDoS filter (§5.1): drop every IPv4 UDP packet, pass everything else, and count both.
/// </summary>
public static unsafe partial class Filter
{
    public const uint DroppedSlot = 0;
    public const uint PassedSlot = 1;

    /// <summary>Packets dropped (index 0) and passed (index 1), one counter per CPU.</summary>
    [Map] public static readonly PerCpuArray<ulong> Counters = new(maxEntries: 2);

    [XdpProgram("xdp_drop_udp")]
    public static XdpAction DropUdp(XdpContext ctx)
    {
        var action = XdpAction.Pass;
        byte* data = ctx.Data, end = ctx.DataEnd;
        if (data + sizeof(EthernetHeader) + sizeof(IPv4Header) <= end)
        {
            var eth = (EthernetHeader*)data;
            var ip = (IPv4Header*)(eth + 1);
            if (eth->EtherType == EtherType.IPv4 && ip->Protocol == IpProtocol.Udp)
                action = XdpAction.Drop;
        }

        // Per-CPU values: no other CPU writes this counter, so a plain increment is safe.
        ulong* counter = Counters.Lookup(action == XdpAction.Drop ? DroppedSlot : PassedSlot);
        if (counter != null)
            (*counter)++;
        return action;
    }
}

using System.Runtime.InteropServices;
using XdpCompiler;

[StructLayout(LayoutKind.Sequential)]
public struct FlowId
{
    public uint Address;
    public ushort Port;
    public ushort Protocol;
}

public struct FlowStats
{
    public ulong Packets;
    public ulong Bytes;
}

public static unsafe partial class MapKinds
{
    [Map] static readonly ArrayMap<uint> Verdicts = new(maxEntries: 8);
    [Map] static readonly HashMap<FlowId, FlowStats> Flows = new(maxEntries: 64);
    [Map] static readonly PerCpuHashMap<ushort, ulong> Ports = new(maxEntries: 16);
    [Map] static readonly HashMap<uint, uint> Results = new(maxEntries: 8);

    /// <summary>Array, hash and per-CPU hash maps: lookup, update with each flag, delete, struct keys and values.</summary>
    [XdpProgram("xdp_map_kinds")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        if (data + 38 > end)
            return XdpAction.Pass;
        var ip = (IPv4Header*)(data + 14);
        var udp = (UdpHeader*)(data + 34);
        var id = new FlowId { Address = ip->SourceAddressNetworkOrder, Port = (ushort)(udp->SourcePort & 0x7), Protocol = (ushort)((byte)ip->Protocol & 1) };
        uint length = (uint)(end - data);

        FlowStats* stats = Flows.Lookup(id);
        int status;
        if (stats == null)
        {
            status = Flows.Update(id, new FlowStats { Packets = 1, Bytes = length }, MapUpdate.NoExist);
        }
        else
        {
            stats->Packets++;
            stats->Bytes += length;
            status = stats->Packets > 3 ? Flows.Delete(id) : Flows.Update(id, *stats, MapUpdate.Exist);
        }

        ushort port = (ushort)(udp->DestinationPort & 0xF);
        ulong* seen = Ports.Lookup(port);
        if (seen != null)
            (*seen)++;
        else
            status += Ports.Update(port, 1);
        status += Ports.Delete((ushort)(port ^ 0x8)) == 0 ? 100 : 0;

        uint slot = data[20] & 7u;
        uint* verdict = Verdicts.Lookup(slot);
        status += Verdicts.Update(slot, verdict == null ? 0 : *verdict + 1, (MapUpdate)(data[21] % 3));
        status += Verdicts.Update(9, 1) + Verdicts.Delete(slot);
        status += Results.Update((uint)status & 7, (uint)status) + Results.Update(100, 1, MapUpdate.Exist);

        data[14] = (byte)status;
        return (status & 3) switch
        {
            0 => XdpAction.Drop,
            1 => XdpAction.Tx,
            _ => XdpAction.Pass,
        };
    }
}

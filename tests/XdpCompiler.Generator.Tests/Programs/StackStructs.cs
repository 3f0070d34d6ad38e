using System.Runtime.InteropServices;
using XdpCompiler;

[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct FlowKey
{
    public uint Source;
    public uint Destination;
    public ushort Port;
    public byte Protocol;
    public fixed byte Pad[3];
}

public struct Totals
{
    public long Sum;
    public int Count;
    public short Min;
}

public static unsafe partial class StackStructs
{
    [Map] static readonly PerCpuArray<ulong> Seen = new(maxEntries: 4);

    /// <summary>Struct locals: initializers, copies from and to the packet, field updates, address-of, stackalloc.</summary>
    [XdpProgram("xdp_stack_structs")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        if (data + 14 + 20 + 8 > end)
            return XdpAction.Pass;
        var ip = (IPv4Header*)(data + 14);
        var key = new FlowKey { Source = ip->SourceAddress, Destination = ip->DestinationAddress, Protocol = (byte)ip->Protocol };
        key.Port = ((UdpHeader*)(ip + 1))->DestinationPort;
        key.Pad[1] = (byte)(key.Port >> 8);

        FlowKey copy = key;
        copy.Source ^= copy.Destination;
        Totals totals = default;
        Totals* t = &totals;
        for (int i = 0; i < 4; i++)
        {
            t->Sum += data[30 + i];
            t->Count++;
        }

        int scratch = 0;
        int* ps = &scratch;
        *ps += (int)copy.Source & 0xFF;
        byte* buffer = stackalloc byte[12];
        buffer[3] = key.Protocol;
        buffer[11] = (byte)scratch;

        // Write the copy back over the IPv4 addresses and port (16 bytes at offset 26).
        *(FlowKey*)(data + 26) = copy;
        ulong* seen = Seen.Lookup(key.Protocol & 3u);
        if (seen != null)
            *seen += (ulong)totals.Sum + (ulong)totals.Count + buffer[3] + buffer[11] + key.Pad[1];
        return (totals.Sum + scratch) % 3 == 0 ? XdpAction.Drop : XdpAction.Pass;
    }
}

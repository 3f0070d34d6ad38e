using System.Runtime.InteropServices;
using XdpCompiler;

[StructLayout(LayoutKind.Sequential)]
public struct PacketEvent
{
    public uint Length;
    public ushort EtherType;
    public byte First;
    public byte Kind;
}

[StructLayout(LayoutKind.Sequential)]
public struct WideEvent
{
    public ulong Word;
    public uint Length;
    public byte Tag;
    public byte Pad1;
    public ushort Pad2;
    public ulong Tail;
}

public static unsafe partial class RingEvents
{
    // One page: it fills after a few hundred records, so both sides meet a full buffer and must refuse the same ones.
    [Map] static readonly RingBuffer Events = new(maxEntries: 4096);

    /// <summary>bpf_ringbuf_output, and reserve followed by submit or discard, with the results in the verdict.</summary>
    [XdpProgram("xdp_ring_events")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        if (data + 24 > end)
            return XdpAction.Pass;
        uint length = (uint)(end - data);
        if (data[20] < 100)
        {
            var e = new PacketEvent { Length = length, EtherType = *(ushort*)(data + 12), First = data[0], Kind = 1 };
            long result = Events.Output(e, data[21] > 250 ? 4ul : 0ul);
            data[14] = (byte)result;
            return result == 0 ? XdpAction.Pass : XdpAction.Drop;
        }

        WideEvent* w = Events.Reserve<WideEvent>();
        if (w == null)
            return XdpAction.Aborted;
        w->Word = *(ulong*)(data + 8);
        w->Length = length;
        w->Tag = data[22];
        w->Pad1 = 0;
        w->Pad2 = 0;
        w->Tail = *(ulong*)(data + 16);
        if (data[22] < 128)
        {
            Events.Submit(w);
            return XdpAction.Tx;
        }

        Events.Discard(w);
        return XdpAction.Drop;
    }
}

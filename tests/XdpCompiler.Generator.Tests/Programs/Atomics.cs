using System.Threading;
using XdpCompiler;

public static unsafe partial class Atomics
{
    [Map] static readonly PerCpuArray<ulong> Wide = new(maxEntries: 2);
    [Map] static readonly PerCpuArray<uint> Narrow = new(maxEntries: 2);

    /// <summary>Every Interlocked operation (and Atomic.Xor) on map values, with and without using the result.</summary>
    [XdpProgram("xdp_atomics")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 24 > ctx.DataEnd)
            return XdpAction.Pass;
        ulong* w = Wide.Lookup(data[14] & 1u);
        uint* n = Narrow.Lookup(data[15] & 1u);
        if (w == null || n == null)
            return XdpAction.Aborted;
        ulong packet = *(ulong*)(data + 16);
        ulong previous = Interlocked.Exchange(ref *w, packet);
        ulong swapped = Interlocked.CompareExchange(ref *w, previous ^ 0xFF, packet);
        Interlocked.Or(ref *w, 0x100);
        ulong anded = Interlocked.And(ref *w, 0xFFFF_FFFF_FFFF_FF0F);
        uint before = Interlocked.Exchange(ref *n, data[20]);
        uint failed = Interlocked.CompareExchange(ref *n, 7, before + 1000);
        uint added = Interlocked.Add(ref *n, data[21]);
        Interlocked.Decrement(ref *n);
        uint ored = Interlocked.Or(ref *n, 0x80);
        uint xored = Atomic.Xor(ref *n, data[22]);
        Atomic.Xor(ref *w, 0x5A5A);
        ulong wideXored = Atomic.Xor(ref *w, packet);
        return (((previous ^ swapped ^ anded ^ wideXored) + before + failed + added + ored + xored) % 3) switch
        {
            0 => XdpAction.Drop,
            1 => XdpAction.Tx,
            _ => XdpAction.Pass,
        };
    }
}

using System.Threading;
using XdpCompiler;

public static unsafe partial class MapByPacketByte
{
    [Map] static readonly PerCpuArray<uint> ByByte = new(maxEntries: 256);
    [Map] static readonly PerCpuArray<ulong> ByNibble = new(maxEntries: 32);
    [Map] static readonly PerCpuArray<long> Signed = new(maxEntries: 8);
    [Map] static readonly PerCpuArray<ulong> Scratch = new(maxEntries: 2);
    [Map] static readonly PerCpuArray<int> Scratch32 = new(maxEntries: 1);

    /// <summary>Counters indexed by packet bytes (masked or checked), atomics whose results feed the verdict.</summary>
    [XdpProgram("xdp_map_bytes")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 34 > ctx.DataEnd)
            return XdpAction.Pass;
        uint* perByte = ByByte.Lookup(data[23] & 0xffu);
        if (perByte == null)
            return XdpAction.Aborted;
        (*perByte)++;
        *perByte += data[24];
        uint idx = data[25];
        ulong* nibble = ByNibble.Lookup(idx >> 2);
        if (nibble != null)
            Interlocked.Add(ref *nibble, (ulong)data[26] << 33);
        else if (idx >= 128)
            return XdpAction.Drop;
        long* signed = Signed.Lookup((uint)(data[27] & 7));
        if (signed != null)
        {
            *signed -= (sbyte)data[28];
            Interlocked.Decrement(ref *signed);
        }

        // The scratch cells are set before each use and cleared after, so the result does not depend on the CPU.
        ulong* scratch = Scratch.Lookup(1);
        int* scratch32 = Scratch32.Lookup(0);
        if (scratch == null || scratch32 == null)
            return XdpAction.Aborted;
        *scratch = (ulong)data[29] << 32 | 0xFFFF_FFF0UL;
        ulong sum = Interlocked.Add(ref *scratch, (ulong)data[30] + 16);
        ulong dec = Interlocked.Decrement(ref *scratch);
        *scratch32 = (sbyte)data[31];
        int inc = Interlocked.Increment(ref *scratch32);
        int added = Interlocked.Add(ref *scratch32, -200);
        ulong post = (*scratch)++;
        *scratch = 0;
        *scratch32 = 0;
        if (sum >> 32 != data[29] + 1u)
            return XdpAction.Tx;
        if (dec != post || inc == 0)
            return XdpAction.Drop;
        return added < -150 ? XdpAction.Pass : XdpAction.Drop;
    }
}

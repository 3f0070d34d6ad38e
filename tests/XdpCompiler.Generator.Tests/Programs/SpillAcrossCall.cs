using System.Threading;
using XdpCompiler;

public static unsafe partial class SpillAcrossCall
{
    [Map] static readonly PerCpuArray<ulong> Sums = new(maxEntries: 16);

    /// <summary>More values than callee-saved registers live across two map lookups; packet pointers too.</summary>
    [XdpProgram("xdp_spill_call")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        byte* end = ctx.DataEnd;
        if (data + 40 > end)
            return XdpAction.Pass;
        byte* ip = data + 14;
        uint v0 = data[14], v1 = data[15], v2 = data[16], v3 = data[17], v4 = data[18], v5 = data[19];
        int v6 = (sbyte)data[20], v7 = (sbyte)data[21], v8 = (sbyte)data[22];
        long v9 = data[23] * 1000L, v10 = -data[24], v11 = data[25] << 20;
        ushort v12 = (ushort)(data[26] * 257);
        sbyte v13 = (sbyte)data[27];
        ulong* first = Sums.Lookup(v0 & 15);
        ulong total = v0 + v1 + v2 + v3 + v4 + v5 + (ulong)(v6 + v7 + v8) + (ulong)(v9 + v10 + v11) + v12 + (ulong)v13;
        if (first != null)
            *first += total;
        ulong* second = Sums.Lookup((v1 ^ v2) & 15);
        if (second == null)
            return XdpAction.Aborted;
        Interlocked.Add(ref *second, (ulong)(v6 * v7) + v12);
        ip[9] = (byte)(v3 + v4 + v13);
        data[0] = (byte)v12;
        ulong check = v0 * 3 + v1 * 5 + v2 * 7 + v3 * 11 + v4 * 13 + v5 * 17 + (ulong)v6 * 19 + (ulong)v7 * 23 + (ulong)v8 * 29
            + (ulong)v9 * 31 + (ulong)v10 * 37 + (ulong)v11 * 41 + v12 * 43UL + (ulong)v13 * 47;
        if (ip + 26 > end)
            return XdpAction.Drop;
        ip[20] = (byte)check;
        return (check & 3) == 0 ? XdpAction.Tx : (check & 3) == 1 ? XdpAction.Drop : XdpAction.Pass;
    }
}

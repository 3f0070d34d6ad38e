using XdpCompiler;

public static unsafe partial class Unrolled
{
    /// <summary>[Unroll]: constant-trip loops emitted once per counter value, with break and continue.</summary>
    [XdpProgram("xdp_unrolled")]
    [Unroll]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        if (data + 64 > end)
            return XdpAction.Pass;
        uint sum = 0;
        for (int i = 0; i < 8; i++)
        {
            if (data[14 + i] == 0xFF)
                break;
            if ((i & 1) == 1)
                continue;
            sum += data[14 + i];
        }

        for (uint j = 40; j > 30; j -= 3)
            sum ^= (uint)data[j] << (int)(j & 7);
        int k;
        for (k = 0; k != 6; k += 2)
            sum += (uint)k;
        sum += Checksum(data);
        data[50] = (byte)sum;
        return (sum & 3) == 0 ? XdpAction.Drop : (sum & 3) == 1 ? XdpAction.Tx : XdpAction.Pass;
    }

    [Unroll]
    static uint Checksum(byte* data)
    {
        uint total = 0;
        for (int w = 0; w < 10; w++)
            total += (uint)(data[14 + 2 * w] << 8 | data[15 + 2 * w]);
        return total;
    }
}

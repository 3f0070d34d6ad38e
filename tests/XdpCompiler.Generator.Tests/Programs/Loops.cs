using XdpCompiler;

public static unsafe partial class Loops
{
    [Map] static readonly PerCpuArray<ulong> Sums = new(maxEntries: 4);

    /// <summary>for, while and do loops with constant bounds, break and continue, nested loops, packet reads inside.</summary>
    [XdpProgram("xdp_loops")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        uint sum = 0;
        for (int i = 0; i < 16; i++)
        {
            if (data + 14 + i + 1 > end)
                break;
            if ((i & 3) == 3)
                continue;
            sum += data[14 + i];
        }

        uint odd = 0;
        int j = 0;
        while (j < 8)
        {
            j++;
            if ((sum >> j & 1) == 1)
                odd++;
        }

        uint grid = 0;
        for (uint row = 0; row < 4; row++)
        {
            for (uint column = 0; column < 4; column++)
            {
                if (column > row)
                    break;
                grid += row * column;
            }
        }

        int k = 10;
        do
        {
            k -= 3;
        }
        while (k > 0);

        ulong* total = Sums.Lookup(sum & 3);
        if (total != null)
            *total += sum + odd + grid + (uint)k;
        return (sum + odd) % 3 == 0 ? XdpAction.Drop : k == -2 ? XdpAction.Pass : XdpAction.Aborted;
    }
}

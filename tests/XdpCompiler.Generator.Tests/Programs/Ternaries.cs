using XdpCompiler;

public static unsafe partial class Ternaries
{
    /// <summary>Ternaries as values of many types, nested, as shift counts, indexes and conditions.</summary>
    [XdpProgram("xdp_ternaries")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 34 > ctx.DataEnd)
            return XdpAction.Pass;
        byte p = data[20], q = data[21], r = data[22];
        int a = p > q ? p - q : q - p;
        long b = p > 128 ? -1L : a < 10 ? 0x1_0000_0000L : a;
        sbyte c = (sbyte)(q < r ? -5 : r < 30 ? 120 : -128);
        uint d = c < 0 ? 0xFFFF_FFFFu : (uint)c;
        int sum = d > 10 ? 2 : 0;
        ulong e = (p & 1) == 0 ? (ulong)b : d;
        sum += e > 0xFFFF_FFFFUL ? 4 : 0;
        sum += (int)(e >> 20);
        int shift = (q & 1) != 0 ? p : -p;
        int f = 0x1234567 >> (r > 100 ? shift : shift + 3);
        sum += f < 100 ? 8 : 0;
        bool g = a > 50 ? q > r : p == r || c == -128;
        sum += g ? 1 : 0;
        short h = (short)(g ? c * 300 : -c * 300);
        sum += h < 0 ? 16 : 0;
        sum += h;
        byte k = data[(p & 1) == 0 ? 24 : 25];
        sum += k > 127 ? 32 : 0;
        ulong bigger = (ulong)a + (b > 0 ? (ulong)b : 7UL);
        sum += (bigger & 2) != 0 ? 64 : 0;
        uint pick = (uint)sum % 4;
        return pick == 0 ? XdpAction.Drop : pick == 1 ? XdpAction.Tx : pick == 2 ? XdpAction.Aborted : XdpAction.Pass;
    }
}

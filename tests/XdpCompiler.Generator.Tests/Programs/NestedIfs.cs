using XdpCompiler;

public static unsafe partial class NestedIfs
{
    /// <summary>Nested ifs with several locals live at once, assigned on some paths and read after the joins.</summary>
    [XdpProgram("xdp_nested_ifs")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 38 > ctx.DataEnd)
            return XdpAction.Pass;
        int a = data[20], b = data[21], c = data[22], d = data[23], e = data[24];
        uint u1 = data[28];
        long l1 = data[30] - 128;
        int acc = 0;
        if (a > b)
        {
            int t = a - b;
            if (c > d)
            {
                acc += t * c;
                l1 += t;
                if (e > 100)
                    u1 ^= (uint)e << 3;
                else
                    u1 -= (uint)d;
            }
            else if (c == d)
            {
                acc -= t;
                if (e < 50) { l1 -= e; } else { l1 += c; a = e; }
            }
            else
            {
                acc = t ^ d;
                b = c + d + e;
            }
        }
        else if (e > 128)
        {
            if (d > 128)
                acc = c > 128 ? a + b + c + d + e : (int)(u1 * 77);
            else
                l1 *= -3;
        }
        else if (d < 64)
        {
            u1 = u1 * u1 + (uint)a;
            c = -c;
        }

        long total = acc + a + b + c + d + e + u1 + l1;
        if (total < 0)
            return (total & 1) == 0 ? XdpAction.Drop : XdpAction.Aborted;
        if (total > 2000)
            return XdpAction.Tx;
        return (total & 3) == 1 ? XdpAction.Drop : XdpAction.Pass;
    }
}

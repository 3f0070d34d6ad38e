using XdpCompiler;

public static unsafe partial class LogicChains
{
    /// <summary>Deep short-circuit chains, negations, bool locals and the non-short-circuit bool operators.</summary>
    [XdpProgram("xdp_logic")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 34 > ctx.DataEnd)
            return XdpAction.Pass;
        byte a = data[20], b = data[21], c = data[22], d = data[23], e = data[24], f = data[25];
        bool many = (a > 1 || b > 1) && (c > 1 || d > 1) && (e > 1 || f > 1) && (a < 250 || c < 250) && (b < 250 || d < 250)
            && (e < 250 || f < 250) && !(a == b && c == d) && (a ^ f) != 0xFF;
        bool x = a > 100 && b < 200 || c == 7 && !(d > 50) || e < 10;
        bool y = !(a < 5 || b > 250) && (c & 1) == 0 && (d | e) != 0 && !(f == 0 || f == 255);
        bool z = x ^ y;
        bool w = x & (a > b) | y & !(c > d);
        bool v = x == y || w != z;
        if (x && y && z)
            return XdpAction.Aborted;
        if ((x || y) && !(z || w) && v)
            return XdpAction.Drop;
        if (many && !v || !many && w)
            return XdpAction.Tx;
        if (!(x ? y : w) && (v ? !z : many))
            return XdpAction.Drop;
        return XdpAction.Pass;
    }
}

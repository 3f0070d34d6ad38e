using XdpCompiler;

public static unsafe partial class WideConstants
{
    [Map] static readonly PerCpuArray<ulong> Last = new(maxEntries: 4);

    /// <summary>64-bit constants beyond 32 bits in every position: operands, comparisons, stores, map values.</summary>
    [XdpProgram("xdp_wide_consts")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 42 > ctx.DataEnd)
            return XdpAction.Pass;
        ulong v = *(ulong*)(data + 26);
        long sv = (long)v;
        ulong x = v ^ 0x1234_5678_9ABC_DEF0UL;
        x += 0x8000_0000UL;
        x &= 0xFFFF_FFFF_0000_FFFFUL;
        x |= 0x0000_0001_0000_0000UL;
        long y = sv - 0x7FFF_FFFF_0000_0000L;
        y *= 0x1_0000_0003L;
        ulong z = v * 0xFFFF_FFFFUL;
        ulong w = v & 0xFFFF_FFFFUL;
        long m = sv + 0x8000_0000L;
        ulong* slot = Last.Lookup(data[40] & 3u);
        if (slot != null)
        {
            *slot = 0xDEAD_BEEF_0000_0000UL | (x & 0xFFFF);
            *slot += 0x1_0000_0000UL;
        }

        *(ulong*)(data + 26) = 0xCAFE_BABE_8000_0001UL;
        *(long*)(data + 34) = -0x1_0000_0001L;
        if (x > 0xF000_0000_0000_0000UL)
            return XdpAction.Drop;
        if (y < -0x4000_0000_0000_0000L)
            return XdpAction.Tx;
        if (z == 0xFFFF_FFFF_0000_0001UL || w == 0xFFFF_FFFFUL)
            return XdpAction.Aborted;
        if (m > 0xFFFF_FFFFL)
            return XdpAction.Drop;
        if (w >= 0x8000_0000UL)
            return XdpAction.Tx;
        return XdpAction.Pass;
    }
}

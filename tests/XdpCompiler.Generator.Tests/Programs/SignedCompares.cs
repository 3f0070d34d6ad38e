using XdpCompiler;

public static unsafe partial class SignedCompares
{
    /// <summary>Signed and unsigned comparisons, negative constants and the boundaries of every type.</summary>
    [XdpProgram("xdp_signed_cmp")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 34 > ctx.DataEnd)
            return XdpAction.Pass;
        sbyte sb = (sbyte)data[20];
        short s = (short)(data[21] << 8 | data[22]);
        int i = data[23] << 24 | data[24] << 16 | data[25] << 8 | data[26];
        uint u = (uint)i;
        long l = (long)i * 0x10000 + data[27];
        ulong ul = (ulong)l;
        byte b = data[28];

        int score = 0;
        if (sb < -1) score += 1;
        if (sb > -128) score += 2;
        if (sb >= 127 || sb <= -128) score += 3;
        if (s < short.MinValue + 100) score += 5;
        if (s > -2) score += 7;
        if (i < -1) score += 11;
        if (i >= int.MinValue + 5) score += 13;
        if (i < 0x40000000) score += 17;
        if (u > 0x7FFFFFFFu) score += 19;
        if (u <= 0xFFFFFFFEu) score += 23;
        if (u < 5u) score += 29;
        if (l < -0x1_0000_0000L) score += 31;
        if (l > 0x7FFF_FFFF_FFFF_0000L) score += 37;
        if (l >= -1) score += 41;
        if (ul > 0xFFFF_FFFF_0000_0000UL) score += 43;
        if (ul < 0x1_0000_0000UL) score += 47;
        if (ul >= 0x8000_0000UL) score += 53;
        if (-5 > i) score += 59;
        if (0x80000000u < u) score += 61;
        if (b > sb) score += 67;
        if (i > s) score += 71;
        if (u > b) score += 73;
        if (l > u) score += 79;
        if ((uint)sb > 200u) score += 83;
        if ((int)u < (int)b - 128) score += 89;
        if (sb == -1 || s == -1 || i == -1 || l == -1) score += 97;
        if (sb != (sbyte)b) score += 101;
        score *= 0x3d4d51c3;
        score ^= score >>> 15;
        int pick = score & 3;
        return pick == 0 ? XdpAction.Drop : pick == 1 ? XdpAction.Tx : pick == 2 ? XdpAction.Aborted : XdpAction.Pass;
    }
}

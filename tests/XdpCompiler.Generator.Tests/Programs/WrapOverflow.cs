using XdpCompiler;

public static unsafe partial class WrapOverflow
{
    /// <summary>Unchecked wrap-around at every width, including unary minus of the minimum values.</summary>
    [XdpProgram("xdp_wrap")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 34 > ctx.DataEnd)
            return XdpAction.Pass;
        int votes = 0;
        int x = data[20] << 24 | data[21] << 16 | data[22] << 8 | data[23];
        int big = int.MaxValue;
        big += x & 0xFF;
        if (big < 0) votes += 1;
        uint ubig = uint.MaxValue - (uint)data[24];
        ubig += 300u;
        if (ubig < 300) votes += 2;
        byte b = data[25];
        b += 200;
        b *= 3;
        if (b > 127) votes += 4;
        votes += b;
        sbyte sb = (sbyte)data[26];
        sb += 100;
        sb *= 2;
        if (sb < 0) votes += 8;
        votes += sb;
        short s = (short)(data[27] << 8);
        s *= 7;
        s -= 30000;
        if (s > 0) votes += 16;
        votes += s;
        ushort us = data[28];
        us -= 1000;
        if (us > 60000) votes += 32;
        votes += us;
        long l = long.MaxValue - data[29];
        l += 1000;
        l *= 3;
        if (l < 0) votes += 64;
        votes += (int)(l >> 40);
        ulong ul = 0;
        ul -= data[30];
        ul *= 0x1_0000_0001UL;
        if (ul > 0xFFFF_0000_0000_0000UL) votes += 128;
        votes += (int)ul;
        int min = int.MinValue + (x & 1);
        int negMin = -min;
        if (negMin < 0) votes += 256;
        long lmin = long.MinValue + (data[31] & 1);
        long negLmin = -lmin;
        if (negLmin < 0) votes += 512;
        int notByte = ~data[32];
        if (notByte < -128) votes += 1024;
        uint uneg = (uint)-x;
        if (uneg > 0x8000_0000u) votes += 2048;
        int product = x * 0x7FFF_FFFF;
        if (product > x) votes += 4096;
        int h = votes * 0x45d9f3b;
        h ^= h >> 16;
        return (h & 3) == 0 ? XdpAction.Drop : (h & 3) == 1 ? XdpAction.Tx : (h & 3) == 2 ? XdpAction.Aborted : XdpAction.Pass;
    }
}

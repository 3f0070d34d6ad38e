using XdpCompiler;

public static unsafe partial class SignExtension
{
    /// <summary>Sign and zero extension at every conversion between widths and signedness.</summary>
    [XdpProgram("xdp_sign_ext")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 30 > ctx.DataEnd)
            return XdpAction.Pass;
        sbyte sb = (sbyte)data[15];
        short s = (short)(data[16] << 8 | data[17]);
        int i = (int)(*(uint*)(data + 18));
        int score = 0;

        long fromSbyte = sb;
        ulong ulFromSbyte = (ulong)sb;
        if (fromSbyte < -100 && ulFromSbyte > 0xFFFF_FFFF_0000_0000UL) score += 1;
        ulong ulFromShort = (ulong)s;
        uint uFromShort = (uint)s;
        if (ulFromShort >> 63 != 0 && uFromShort < 0xFFFF_9000u) score += 2;
        ulong ulFromInt = (ulong)i;
        long lFromUint = (uint)i;
        if (ulFromInt > 0x8000_0000_0000_0000UL && lFromUint > 0x7000_0000L) score += 4;
        ushort usFromSbyte = (ushort)sb;
        char chFromSbyte = (char)sb;
        int iFromUshort = usFromSbyte;
        if (chFromSbyte == (char)0xFFF0 || iFromUshort == 0xFF80) score += 8;
        byte bFromShort = (byte)s;
        sbyte sbFromInt = (sbyte)i;
        if (bFromShort > 200 && sbFromInt < -50) score += 16;
        short sFromUlong = (short)ulFromInt;
        if (sFromUlong < -30000) score += 32;
        nint nFromInt = i;
        nuint nuFromSbyte = (nuint)sb;
        if (nFromInt < -1000000 && nuFromSbyte > 0x7FFF_FFFF_FFFF_FFFFUL) score += 64;
        long back = (long)(ulong)(uint)(int)(short)(sbyte)(i >> 4);
        if (back > 100) score += 128;
        if (back == 0) score += 256;
        ulong zx = (uint)(ushort)(sbyte)(i >> 12);
        if (zx > 0xFF00) score += 512;
        long mixed = (long)(byte)sb * (sbyte)s + (short)(ushort)i;
        if (mixed < -5000) score += 1024;
        score ^= score >> 3;
        int pick = score & 3;
        return pick == 0 ? XdpAction.Drop : pick == 1 ? XdpAction.Tx : pick == 2 ? XdpAction.Aborted : XdpAction.Pass;
    }
}

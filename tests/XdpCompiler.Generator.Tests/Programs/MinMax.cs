using System;
using XdpCompiler;

public static unsafe partial class MinMax
{
    /// <summary>Math.Min, Math.Max and Math.Clamp over signed and unsigned types of every width, with constants on either side.</summary>
    [XdpProgram("xdp_min_max")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 64 > ctx.DataEnd)
            return XdpAction.Pass;
        byte b1 = data[14], b2 = data[15];
        sbyte s1 = (sbyte)data[16], s2 = (sbyte)data[17];
        short h = *(short*)(data + 18);
        ushort uh = *(ushort*)(data + 20);
        int i1 = *(int*)(data + 22), i2 = *(int*)(data + 26);
        uint u1 = *(uint*)(data + 30), u2 = *(uint*)(data + 34);
        long l1 = *(long*)(data + 38), l2 = *(long*)(data + 46);
        ulong ul = *(ulong*)(data + 54);

        *(byte*)(data + 14) = Math.Max(b1, b2);
        *(byte*)(data + 15) = Math.Min(b1, (byte)100);
        *(sbyte*)(data + 16) = Math.Min(s1, s2);
        *(sbyte*)(data + 17) = Math.Max((sbyte)-20, s2);
        *(short*)(data + 18) = Math.Clamp(h, (short)-300, (short)300);
        *(ushort*)(data + 20) = Math.Min(uh, (ushort)0x8000);
        *(int*)(data + 22) = Math.Max(i1, i2);
        *(int*)(data + 26) = Math.Clamp(i2, -1000, 1000);
        *(uint*)(data + 30) = Math.Min(u1, u2);
        *(uint*)(data + 34) = Math.Max(u2, 0x8000_0000u);
        *(long*)(data + 38) = Math.Min(l1, l2);
        *(long*)(data + 46) = Math.Clamp(l2, long.MinValue + 1, 5_000_000_000L);
        *(ulong*)(data + 54) = Math.Max(ul, 0xF000_0000_0000_0000UL);
        int mixed = Math.Min(b1, s1) + Math.Max(h, (short)uh / 2);
        return (mixed & 3) switch
        {
            0 => XdpAction.Pass,
            1 => XdpAction.Drop,
            2 => XdpAction.Tx,
            _ => XdpAction.Pass,
        };
    }
}

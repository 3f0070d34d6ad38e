using XdpCompiler;

public static unsafe partial class VariableShifts
{
    /// <summary>Shift counts read from the packet (0-255): C# masks them to 5 or 6 bits; >>> and >> differ on negatives.</summary>
    [XdpProgram("xdp_var_shifts")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 34 > ctx.DataEnd)
            return XdpAction.Pass;
        int n = data[20];
        int m = data[21];
        int value = (int)(0x8000_0000u | (uint)(data[22] << 8 | data[23]));
        ulong acc = (ulong)(value >> n);
        acc ^= (ulong)(value >>> n) * 3;
        acc ^= (uint)value >> m;
        acc ^= (ulong)(value << m) << 1;
        acc += (ulong)(value >> -n);
        long lvalue = (long)value << 16 | data[24];
        acc ^= (ulong)(lvalue >> n);
        acc ^= (ulong)(lvalue >>> m);
        acc += (ulong)(lvalue << (n - 200));
        ulong ulvalue = (ulong)lvalue;
        acc ^= ulvalue >> n;
        acc ^= ulvalue << m;
        byte bvalue = data[25];
        acc ^= (ulong)(bvalue << n);
        bvalue <<= n;
        acc += bvalue;
        short svalue = (short)(sbyte)data[26];
        acc ^= (ulong)(svalue >> m);
        acc ^= (ulong)(svalue >>> m);
        svalue >>= m;
        acc += (ulong)svalue;
        ushort us = (ushort)(data[27] << 8 | data[28]);
        us >>= n & 7;
        us <<= m;
        acc += us;
        uint uvalue = (uint)value;
        uvalue >>>= n;
        acc += uvalue;
        lvalue <<= m;
        acc += (ulong)lvalue;
        acc ^= acc >> 29;
        acc ^= acc >> 7;
        int pick = (int)acc & 3;
        return pick == 0 ? XdpAction.Drop : pick == 1 ? XdpAction.Tx : pick == 2 ? XdpAction.Aborted : XdpAction.Pass;
    }
}

using XdpCompiler;

public static unsafe partial class IncDec
{
    /// <summary>Prefix and postfix ++/-- on every width, on locals, packet bytes and pointers, with results used.</summary>
    [XdpProgram("xdp_incdec")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 40 > ctx.DataEnd)
            return XdpAction.Pass;
        byte b = (byte)(data[20] | 0xFE);
        long acc = b++ + ++b;
        acc += b;
        sbyte sb = (sbyte)(data[21] | 0x7E);
        acc += sb++ - --sb + ++sb;
        acc += sb;
        short s = (short)(data[22] << 8 | 0xFF);
        acc += s++ + s--;
        acc += s;
        ushort us = (ushort)(0xFFFF - (data[23] & 1));
        acc += us++ + ++us;
        acc += us;
        char ch = (char)(0xFFFF - (data[24] & 1));
        acc += ch++ + ++ch;
        acc += ch;
        int i = int.MaxValue - (data[25] & 1);
        acc += (long)i++ + ++i;
        acc += i;
        uint u = 0u + (data[26] & 1u);
        acc += (long)(u-- + --u);
        acc += u;
        long l = long.MinValue + (data[27] & 1);
        acc += l-- + --l;
        acc += l;
        ulong ul = 0UL + (data[28] & 1u);
        acc += (long)(ul-- - --ul);
        acc += (long)ul;

        byte* p = data + 30;
        acc += (*p)++ * 3;
        acc += ++data[31] * 5;
        data[32]--;
        byte* q = p++;
        acc += *q * 7;
        byte* t = ++p;
        t--;
        acc += *t * 11;
        ushort* wide = (ushort*)(data + 34);
        (*wide)++;
        uint* wider = (uint*)(data + 36);
        acc += (*wider)--;
        acc ^= acc >> 17;
        int pick = (int)acc & 3;
        return pick == 0 ? XdpAction.Drop : pick == 1 ? XdpAction.Tx : pick == 2 ? XdpAction.Aborted : XdpAction.Pass;
    }
}

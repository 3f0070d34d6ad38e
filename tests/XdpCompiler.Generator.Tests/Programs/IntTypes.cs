using XdpCompiler;

public static unsafe partial class IntTypes
{
    /// <summary>Every integer type read from the packet, mixed and narrowed; the action depends on the mixed bits.</summary>
    [XdpProgram("xdp_int_types")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 40 > ctx.DataEnd)
            return XdpAction.Pass;
        sbyte sb = (sbyte)data[14];
        byte b = data[15];
        long mix = sb + b;
        short s = *(short*)(data + 16);
        ushort us = *(ushort*)(data + 18);
        mix += s + us;
        char c = (char)*(ushort*)(data + 20);
        mix += c;
        int i = *(int*)(data + 22);
        uint u = *(uint*)(data + 26);
        mix += i + u;
        long l = *(long*)(data + 30);
        mix ^= l;
        ulong ul = *(ulong*)(data + 32);
        ulong umix = ul + (ulong)mix;
        nint ni = (nint)i;
        umix += (ulong)ni * 3;
        nuint nu = (nuint)u;
        umix -= nu;
        int narrow = (int)umix;
        short tiny = (short)umix;
        sbyte tinier = (sbyte)(umix >> 8);
        char ch = (char)(umix >> 16);
        if (tiny < 0 && tinier < 0)
            return XdpAction.Drop;
        if (ch > 0x8000)
            return narrow < 0 ? XdpAction.Tx : XdpAction.Aborted;
        if ((sb ^ s) < 0 || c < us)
            return XdpAction.Drop;
        return (umix & 1) == 0 ? XdpAction.Pass : XdpAction.Tx;
    }
}

using System.Runtime.CompilerServices;
using XdpCompiler;

public static unsafe partial class Divisions
{
    /// <summary>
    /// Unsigned division and remainder by packet bytes, each divisor proved non-zero a different way: a test around
    /// the division, an early return, a value that cannot be zero. Zero divisors take the other paths.
    /// </summary>
    [XdpProgram("xdp_divisions")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 48 > ctx.DataEnd)
            return XdpAction.Pass;
        uint a = *(uint*)(data + 14);
        uint d = data[18];
        uint result = 7;
        if (d != 0)
            result = a / d + a % d;
        ulong wide = *(ulong*)(data + 20);
        ulong byPlusOne = wide / ((ulong)data[28] + 1);
        uint odd = a % (data[29] | 1u);
        ushort small = *(ushort*)(data + 30);
        uint e = (uint)(data[32] & 0x0F);
        if (e == 0)
        {
            *(uint*)(data + 40) = result ^ odd;
            return XdpAction.Drop;
        }

        uint scaled = (uint)small / e;
        byte f = data[33];
        uint last = f > 2 ? scaled % f : scaled;
        // Signed values that cannot be negative divide as unsigned ones.
        int count = data[34];
        int per = data[35];
        int average = per > 0 ? count / per : -1;
        long total = *(ushort*)(data + 46);
        long rest = total % (data[34] + 1L);
        *(uint*)(data + 36) = result + last + (uint)average + (uint)rest + Ratio(a, data[44]) + Ratio(a, (uint)data[45] + 1);
        *(ulong*)(data + 40) = byPlusOne ^ odd;
        return (last & 1) == 0 ? XdpAction.Pass : XdpAction.Tx;
    }

    // Out of line: the divisor is proved in the function's own code.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static uint Ratio(uint total, uint part) => part == 0 ? 0 : total / part;
}

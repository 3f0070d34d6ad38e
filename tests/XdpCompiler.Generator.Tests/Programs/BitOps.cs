using System.Numerics;
using XdpCompiler;

public static unsafe partial class BitOps
{
    /// <summary>BitOperations on packet words: rotations by constant and variable counts, bit counts, Log2 (zeros included).</summary>
    [XdpProgram("xdp_bit_ops")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 72 > ctx.DataEnd)
            return XdpAction.Pass;
        uint w = *(uint*)(data + 14);
        ulong q = *(ulong*)(data + 18);
        int n = data[26];
        // A byte that is often zero, so the zero cases come up.
        uint sparse = data[27] > 200 ? 0u : w & (uint)data[28] << 24;
        ulong sparse64 = data[29] > 200 ? 0UL : q >> data[30];

        *(uint*)(data + 32) = BitOperations.RotateLeft(w, 5) ^ BitOperations.RotateRight(w, n);
        *(ulong*)(data + 36) = BitOperations.RotateLeft(q, n) + BitOperations.RotateRight(q, 13);
        *(uint*)(data + 44) = BitOperations.RotateLeft(w, 0) - BitOperations.RotateRight(w, 32);
        int counts = BitOperations.PopCount(w) | BitOperations.PopCount(q) << 6 | BitOperations.PopCount(sparse) << 13;
        *(int*)(data + 48) = counts;
        *(int*)(data + 52) = BitOperations.LeadingZeroCount(sparse) | BitOperations.LeadingZeroCount(sparse64) << 8
            | BitOperations.TrailingZeroCount(sparse) << 16 | BitOperations.TrailingZeroCount(sparse64) << 24;
        *(int*)(data + 56) = BitOperations.Log2(sparse) | BitOperations.Log2(sparse64) << 8 | BitOperations.TrailingZeroCount((int)w) << 16
            | BitOperations.TrailingZeroCount((long)q) << 24;
        return (counts & 3) switch
        {
            0 => XdpAction.Pass,
            1 => XdpAction.Drop,
            2 => XdpAction.Tx,
            _ => XdpAction.Pass,
        };
    }
}

using System.Buffers.Binary;
using XdpCompiler;

public static unsafe partial class ByteSwaps
{
    /// <summary>Byte swaps on every width, signed ones included (their sign comes from the swapped bits).</summary>
    [XdpProgram("xdp_byteswaps")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 42 > ctx.DataEnd)
            return XdpAction.Pass;
        int score = 0;
        short s = BinaryPrimitives.ReverseEndianness(*(short*)(data + 20));
        if (s < 0) score += 1;
        ushort us = BinaryPrimitives.ReverseEndianness(*(ushort*)(data + 22));
        if (us > 0x8000) score += 128;
        int i = BinaryPrimitives.ReverseEndianness(*(int*)(data + 24));
        if (i < -5) score += 2;
        score ^= s ^ i;
        uint u = ByteOrder.NetworkToHost(*(uint*)(data + 28));
        if (u > 0x8000_0000u) score += 256;
        long l = BinaryPrimitives.ReverseEndianness(*(long*)(data + 32));
        if (l < 0) score += 4;
        ulong ul = ByteOrder.HostToNetwork(*(ulong*)(data + 32));
        if ((ulong)l == ul) score += 64;
        sbyte sb = BinaryPrimitives.ReverseEndianness((sbyte)data[40]);
        if (sb < 0) score += 8;
        short constant = BinaryPrimitives.ReverseEndianness((short)-32513);
        if (constant < 0) score += 16;
        long lconstant = BinaryPrimitives.ReverseEndianness(0x0102_0304_0506_0780L);
        if (lconstant < 0) score += 32;
        *(uint*)(data + 24) = ByteOrder.HostToNetwork(u + 1);
        *(ushort*)(data + 22) = BinaryPrimitives.ReverseEndianness((ushort)(us ^ 0x8000));
        *(short*)(data + 20) = BinaryPrimitives.ReverseEndianness((short)(s - 1));
        score += (int)(ul >> 50);
        return (score & 3) == 0 ? XdpAction.Drop : (score & 3) == 1 ? XdpAction.Tx : (score & 3) == 2 ? XdpAction.Aborted : XdpAction.Pass;
    }
}

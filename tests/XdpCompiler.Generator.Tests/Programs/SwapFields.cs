using System.Buffers.Binary;
using XdpCompiler;

public static unsafe partial class SwapFields
{
    /// <summary>
    /// Network-order fields changed with bit operations and written back, and bits picked out of swapped values with
    /// shifts: the shapes where a byte swap can be skipped, next to the ones where it cannot (a sum, bits that straddle
    /// two bytes, a value wider than the swap).
    /// </summary>
    [XdpProgram("xdp_swap_fields")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 64 > ctx.DataEnd)
            return XdpAction.Pass;
        // swap(swap(x) op c) stored back: xor, and, or on 16 and 32 bits.
        ushort flags = ByteOrder.NetworkToHost(*(ushort*)(data + 14));
        *(ushort*)(data + 14) = ByteOrder.HostToNetwork((ushort)(flags ^ 0x8001));
        ushort mask = ByteOrder.NetworkToHost(*(ushort*)(data + 16));
        *(ushort*)(data + 16) = ByteOrder.HostToNetwork((ushort)(mask & 0x0FF0));
        uint word = ByteOrder.NetworkToHost(*(uint*)(data + 18));
        *(uint*)(data + 18) = ByteOrder.HostToNetwork(word | 0x00F0_0001u);
        uint word2 = BinaryPrimitives.ReverseEndianness(*(uint*)(data + 22));
        *(uint*)(data + 22) = BinaryPrimitives.ReverseEndianness(word2 ^ 0x8000_0000u);
        // Not a bitwise op: the swaps stay.
        uint counter = ByteOrder.NetworkToHost(*(uint*)(data + 26));
        *(uint*)(data + 26) = ByteOrder.HostToNetwork(counter + 0x0101u);
        // A 16-bit swap of a value that may be wider than 16 bits: only its low half is swapped.
        uint wide = *(uint*)(data + 30);
        *(ushort*)(data + 30) = BinaryPrimitives.ReverseEndianness((ushort)(BinaryPrimitives.ReverseEndianness((ushort)wide) ^ 0x00FF));

        // Bits of swapped values through shifts.
        ulong big = ByteOrder.NetworkToHost(*(ulong*)(data + 34));
        uint picked = (uint)(big >> 50) & 3;                        // one byte of the swap
        picked |= (uint)((big >> 8) & 0xFF) << 2;                   // a whole byte
        picked ^= (uint)((big >> 4) & 0xFF) << 10;                  // straddles two bytes
        uint half = ByteOrder.NetworkToHost(*(uint*)(data + 42));
        picked += (half >> 24) << 18;                               // the top byte
        picked += ((half >> 13) & 7) << 26;                        // three bits inside byte 1
        ushort port = ByteOrder.NetworkToHost(*(ushort*)(data + 46));
        picked ^= (uint)(port >> 12) << 29;                         // a nibble
        long signed = (long)ByteOrder.NetworkToHost(*(ulong*)(data + 48));
        picked += (uint)((ulong)signed >> 62);                      // the sign bits
        *(uint*)(data + 56) = picked;
        *(ulong*)(data + 56) += big >> 60;                          // read as a whole 64-bit value later
        return (picked & 3) switch
        {
            0 => XdpAction.Pass,
            1 => XdpAction.Drop,
            2 => XdpAction.Tx,
            _ => XdpAction.Pass,
        };
    }
}

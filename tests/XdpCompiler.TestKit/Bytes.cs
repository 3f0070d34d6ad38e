using System.Buffers.Binary;

namespace XdpCompiler.TestKit;

/// <summary>Damaged copies of encoded bytes, for reader tests that feed in one wrong field at a time.</summary>
public static class Bytes
{
    public static byte[] Patch8(byte[] bytes, int offset, byte value)
    {
        var copy = (byte[])bytes.Clone();
        copy[offset] = value;
        return copy;
    }

    /// <summary>A copy with a little-endian u16 at <paramref name="offset"/>.</summary>
    public static byte[] Patch16(byte[] bytes, int offset, ushort value)
    {
        var copy = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(offset), value);
        return copy;
    }

    /// <summary>A copy with a little-endian u32 at <paramref name="offset"/>.</summary>
    public static byte[] Patch32(byte[] bytes, int offset, uint value)
    {
        var copy = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(offset), value);
        return copy;
    }
}

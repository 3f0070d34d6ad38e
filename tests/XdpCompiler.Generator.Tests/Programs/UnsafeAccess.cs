using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using XdpCompiler;

[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct PortPair
{
    public ushort Source;
    public ushort Destination;
}

public static unsafe partial class UnsafeAccess
{
    [Map] static readonly ArrayMap<ulong> Sums = new(maxEntries: 2);

    /// <summary>Unsafe on pointers: unaligned reads and writes (scalars and structs), Add/Subtract, SizeOf, AsPointer, block ops.</summary>
    [XdpProgram("xdp_unsafe")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        if (data + 14 + 20 + 8 > end)
            return XdpAction.Pass;

        // Odd offsets: nothing here is aligned.
        uint word = Unsafe.ReadUnaligned<uint>(data + 15);
        short half = Unsafe.Read<short>(Unsafe.Add<short>(data, 9));
        var ports = Unsafe.ReadUnaligned<PortPair>(data + 34);
        byte* back = (byte*)Unsafe.Subtract<uint>(data + 40, 2);

        PortPair swapped = default;
        swapped.Source = ports.Destination;
        swapped.Destination = ports.Source;
        Unsafe.WriteUnaligned(data + 34, swapped);
        Unsafe.WriteUnaligned<ushort>(data + 1, (ushort)(half + 1));

        ulong scratch = 0;
        ulong* p = (ulong*)Unsafe.AsPointer(ref scratch);
        *p = word + (ulong)Unsafe.SizeOf<PortPair>();

        byte* buffer = stackalloc byte[16];
        Unsafe.InitBlockUnaligned(buffer, 0xA5, 16);
        Unsafe.CopyBlockUnaligned(buffer + 3, data + 26, 7);
        Unsafe.CopyBlock(data + 6, buffer, 6);
        Unsafe.InitBlock(data + 12, 0, 0);

        ulong* sum = Sums.Lookup((uint)(*back & 1));
        if (sum != null)
            *sum += scratch + Unsafe.Read<ulong>(buffer + 8);
        return (word & 3) == 0 ? XdpAction.Drop : XdpAction.Pass;
    }
}

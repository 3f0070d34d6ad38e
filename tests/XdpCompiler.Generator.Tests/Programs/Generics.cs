using XdpCompiler;

public struct Pair
{
    public uint First;
    public ushort Second;
}

public static unsafe partial class Generics
{
    [Map] static readonly PerCpuArray<ulong> Totals = new(maxEntries: 2);

    /// <summary>Generic helpers over unmanaged types, compiled for each type argument they are called with.</summary>
    [XdpProgram("xdp_generics")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        if (!Fits<EthernetHeader>(data, end) || !Fits<Pair>(data + 14, end) || !Fits<ulong>(data + 20, end))
            return XdpAction.Pass;
        var eth = At<EthernetHeader>(data, 0);
        var pair = At<Pair>(data, 14);
        ulong wide = Read(At<ulong>(data, 20));
        Pair copy = Read(pair);
        Swap(&copy.First, At<uint>(data, 6));
        ulong* total = Totals.Lookup((uint)eth->EtherType & 1);
        if (total != null)
            *total += wide + copy.Second + (ulong)sizeof(Pair) + Default<ulong>();
        *pair = copy;
        return copy.First % 3 == 0 ? XdpAction.Drop : XdpAction.Pass;
    }

    static bool Fits<T>(byte* p, byte* end) where T : unmanaged => p + sizeof(T) <= end;

    static T* At<T>(byte* data, int offset) where T : unmanaged => (T*)(data + offset);

    static T Read<T>(T* p) where T : unmanaged => *p;

    static void Swap<T>(T* a, T* b) where T : unmanaged
    {
        T t = *a;
        *a = *b;
        *b = t;
    }

    static T Default<T>() where T : unmanaged => default;
}

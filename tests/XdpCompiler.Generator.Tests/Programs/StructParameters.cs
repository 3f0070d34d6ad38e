using XdpCompiler;

public struct Window
{
    public uint Low;
    public uint High;
    public ushort Hits;
}

public static unsafe partial class StructParameters
{
    [Map] static readonly ArrayMap<Window> Windows = new(maxEntries: 2);

    /// <summary>Structs by value (the callee's copy), ref/in/out parameters on stack locals, packet fields and map values.</summary>
    [XdpProgram("xdp_struct_params")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        if (data + 14 + 20 > end)
            return XdpAction.Pass;
        var ip = (IPv4Header*)(data + 14);

        var window = new Window { Low = ip->SourceAddress & 0xFFFF, High = ip->DestinationAddress & 0xFFFF };
        uint width = Width(window);             // by value: Width's writes do not reach window
        Widen(ref window, data[20]);
        bool inside = Contains(in window, ip->SourceAddress >> 16);
        Split(window, out uint low, out var high);
        uint hops = 0;
        Bump(ref hops);
        Bump(ref hops);
        Bump(ref ip->TimeToLive);               // a ref into the packet

        Window* stored = Windows.Lookup(inside ? 1u : 0u);
        if (stored != null)
        {
            Merge(ref *stored, window);         // a ref into a map value
            stored->Hits += (ushort)hops;
        }
        ip->IdentificationNetworkOrder = (ushort)(width ^ low ^ high ^ window.Low);
        return inside ? XdpAction.Drop : XdpAction.Pass;
    }

    static uint Width(Window w)
    {
        w.High -= w.Low;
        w.Low = 0;
        return w.High;
    }

    static void Widen(ref Window w, byte by)
    {
        w.Low -= by;
        w.High += by;
        w.Hits++;
    }

    static bool Contains(in Window w, uint value) => value >= w.Low && value <= w.High;

    static void Split(Window w, out uint low, out uint high)
    {
        low = w.Low;
        high = w.High;
    }

    static void Bump(ref uint value) => value += 3;

    static void Bump(ref byte value) => value = (byte)(value + 1);

    static void Merge(ref Window into, Window from)
    {
        if (from.Low < into.Low || into.Hits == 0)
            into.Low = from.Low;
        if (from.High > into.High)
            into.High = from.High;
        into.Hits += from.Hits;
    }
}

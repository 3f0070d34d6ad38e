using XdpCompiler;

public static unsafe partial class TailCalls
{
    [Map] static readonly ProgramArray Next = new(maxEntries: 4) { [0] = Ipv4, [2] = Other, [3] = Loop };
    [Map] static readonly ArrayMap<uint> Visits = new(maxEntries: 4);

    /// <summary>Tail calls into the slot chosen by the packet: slots 0, 2 and 3 hold programs, 1, 4 and 5 are empty.</summary>
    [XdpProgram("xdp_tail_entry")]
    public static XdpAction Entry(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 16 > ctx.DataEnd)
            return XdpAction.Pass;
        uint* visits = Visits.Lookup(3);
        if (visits != null)
            (*visits)++;
        data[15] = 0xEE;
        return Next.TailCall(ctx, (uint)(data[14] % 6), XdpAction.Drop);
    }

    [XdpProgram("xdp_tail_ipv4")]
    public static XdpAction Ipv4(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 16 > ctx.DataEnd)
            return XdpAction.Pass;
        uint* visits = Visits.Lookup(0);
        if (visits != null)
            (*visits)++;
        data[15] = 0x44;
        return data[13] > 100 ? XdpAction.Tx : XdpAction.Pass;
    }

    /// <summary>Chains on: slot 0 again, so a packet visits Entry, Other and Ipv4.</summary>
    [XdpProgram("xdp_tail_other")]
    public static XdpAction Other(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 16 > ctx.DataEnd)
            return XdpAction.Pass;
        uint* visits = Visits.Lookup(2);
        if (visits != null)
            (*visits)++;
        data[15] = 0x22;
        if (data[12] > 128)
            return Next.TailCall(ctx, 0, XdpAction.Aborted);
        return XdpAction.Drop;
    }

    /// <summary>Tail-calls itself: counts the runs of one chain, which ends after the kernel's 33 tail calls.</summary>
    [XdpProgram("xdp_tail_loop")]
    public static XdpAction Loop(XdpContext ctx)
    {
        uint* runs = Visits.Lookup(1);
        if (runs != null)
            (*runs)++;
        return Next.TailCall(ctx, 3, XdpAction.Pass);
    }
}

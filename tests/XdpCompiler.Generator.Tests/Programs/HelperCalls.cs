using XdpCompiler;

public static unsafe partial class HelperCalls
{
    [Map] static readonly PerCpuArray<ulong> Results = new(maxEntries: 4);

    /// <summary>Kernel helpers: adjust_head/tail/meta (with their failure cases), redirect, time, random, CPU id.</summary>
    [XdpProgram("xdp_helper_calls")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 20 > ctx.DataEnd)
            return XdpAction.Pass;
        byte selector = data[14];
        int delta = (sbyte)data[15];
        ulong* results = Results.Lookup(selector & 3u);
        if (results == null)
            return XdpAction.Aborted;

        // Never 0 in practice; the calls are here to be compiled and verified, not to steer the verdict.
        if (Bpf.KtimeGetNs() == 0 || (Bpf.GetPrandomU32() & 0) != 0 || Bpf.GetSmpProcessorId() > 100_000)
            return XdpAction.Aborted;

        int status;
        switch (selector & 7)
        {
            case 0:
                status = ctx.AdjustHead(delta);
                break;
            case 1:
                status = ctx.AdjustTail(delta);
                break;
            case 2:
                status = ctx.AdjustMeta(delta & ~3);
                break;
            case 3:
                return Bpf.Redirect((uint)delta & 0xFF, (ulong)(selector >> 7));
            default:
                status = ctx.AdjustHead(-(delta & 0x3F)) + ctx.AdjustTail(delta & 0x1F);
                break;
        }

        *results += (ulong)(uint)status;
        byte* start = ctx.Data;
        if (start + 14 > ctx.DataEnd)
            return XdpAction.Drop;
        start[0] = (byte)status;
        start[13] = (byte)(ctx.DataEnd - start > 100 ? 1 : 0);
        return status == 0 ? XdpAction.Tx : XdpAction.Pass;
    }
}

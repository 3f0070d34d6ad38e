using XdpCompiler;

public static partial class ContextFields
{
    [XdpProgram("xdp_ctx")]
    public static XdpAction Check(XdpContext ctx)
    {
        if (ctx.RxQueueIndex == 3 && ctx.IngressIfindex != 0)
            return XdpAction.Drop;
        return ctx.IngressIfindex > 1000 ? XdpAction.Aborted : XdpAction.Pass;
    }
}

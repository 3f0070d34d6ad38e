using XdpCompiler;

public static unsafe partial class Tracing
{
    /// <summary>bpf_trace_printk with a constant format and integer arguments (written to the trace pipe).</summary>
    [XdpProgram("xdp_tracing")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        if (data + 16 > end)
            return XdpAction.Pass;
        uint length = (uint)(end - data);
        if (data[14] == 0x45)
            Bpf.TracePrintk("xdp_tracing: len %u first %x\n", length, data[0]);
        else
            Bpf.TracePrintk("xdp_tracing: other\n");
        return length > 100 ? XdpAction.Drop : XdpAction.Pass;
    }
}

using XdpCompiler;

public static unsafe partial class SectionKinds
{
    [Map] static readonly DevMap Ports = new(maxEntries: 4, withPrograms: true);
    [Map] static readonly CpuMap Cpus = new(maxEntries: 4);

    /// <summary>BPF_F_XDP_HAS_FRAGS: may run on multi-buffer packets (an interface whose MTU exceeds a page).</summary>
    [XdpProgram("xdp_frags", Section = "xdp.frags")]
    public static XdpAction Frags(XdpContext ctx) => XdpAction.Pass;

    /// <summary>Runs on a devmap entry, after the redirect: the egress interface is known.</summary>
    [XdpProgram("xdp_devmap_egress", Section = "xdp/devmap")]
    public static XdpAction OnDevMap(XdpContext ctx) => ctx.EgressIfindex == 0 ? XdpAction.Drop : XdpAction.Pass;

    /// <summary>Runs on the CPU a cpumap entry redirected to.</summary>
    [XdpProgram("xdp_cpumap_target", Section = "xdp/cpumap")]
    public static XdpAction OnCpuMap(XdpContext ctx) => XdpAction.Pass;

    [XdpProgram("xdp_plain")]
    public static XdpAction Plain(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 1 > ctx.DataEnd)
            return XdpAction.Pass;
        return data[0] < 128 ? Ports.Redirect(0, (ulong)XdpAction.Pass) : Cpus.Redirect(0, (ulong)XdpAction.Pass);
    }
}

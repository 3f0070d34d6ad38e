using XdpCompiler;

public static unsafe partial class DevMapRedirect
{
    [Map] public static readonly DevMap Ports = new(maxEntries: 8);

    /// <summary>bpf_redirect_map through a devmap, with the fallback action in the flags.</summary>
    [XdpProgram("xdp_devmap_redirect")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 16 > ctx.DataEnd)
            return XdpAction.Pass;
        uint slot = data[14] & 15u;
        return data[15] switch
        {
            < 64 => Ports.Redirect(slot),
            < 128 => Ports.Redirect(slot, (ulong)XdpAction.Pass),
            < 192 => Ports.Redirect(slot, (ulong)XdpAction.Drop | 8),
            _ => Ports.Redirect(slot, 0x40),
        };
    }
}

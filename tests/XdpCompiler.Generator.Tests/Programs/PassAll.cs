using XdpCompiler;

public static partial class PassAll
{
    [XdpProgram("xdp_pass")]
    public static XdpAction Run(XdpContext ctx) => XdpAction.Pass;
}

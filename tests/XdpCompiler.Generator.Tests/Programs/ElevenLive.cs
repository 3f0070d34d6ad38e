using XdpCompiler;
public static unsafe partial class ElevenLive
{
    /// <summary>Eleven values live at once and no helper call: one spill is needed.</summary>
    [XdpProgram("xdp_eleven_live")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 40 > ctx.DataEnd)
            return XdpAction.Pass;
        uint a = data[20], b = data[21], c = data[22], d = data[23], e = data[24], f = data[25], g = data[26], h = data[27], i = data[28], j = data[29], k = data[30];
        uint x = a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ i ^ j ^ k;
        return (x & 1) == 0 ? XdpAction.Drop : XdpAction.Pass;
    }
}

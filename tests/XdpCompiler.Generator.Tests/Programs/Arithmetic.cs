using XdpCompiler;

public static unsafe partial class Arithmetic
{
    /// <summary>Integer semantics: promotion, signed compares, sign extension, shifts, compound assignment.</summary>
    [XdpProgram("xdp_arith")]
    public static XdpAction Score(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 34 > ctx.DataEnd)
            return XdpAction.Pass;
        var ip = (IPv4Header*)(data + 14);
        int ttl = ip->TimeToLive;
        int score = (ttl * 3 + ip->TypeOfService) >> 2;
        score -= 7;
        score ^= 0x55;
        uint total = ip->TotalLength;
        total <<= 1;
        total++;
        sbyte tweak = (sbyte)data[20];
        long wide = tweak;
        wide *= -3;
        if (wide > 200)
            return XdpAction.Aborted;
        if (score < -10 || (total & 0x3) == 3 && score > 1000)
            return XdpAction.Drop;
        ushort id = ip->Identification;
        id += 0xF000;
        return id < 0x1000 ? XdpAction.Tx : XdpAction.Pass;
    }
}

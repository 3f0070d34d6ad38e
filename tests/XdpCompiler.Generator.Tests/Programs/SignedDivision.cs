using XdpCompiler;

public static unsafe partial class SignedDivision
{
    static readonly int Divisor = 7;
    static readonly long WideDivisor = -1_000_003;
    const int Bias = -300;

    /// <summary>C# truncating signed division and remainder by constants, static readonly fields as immediates.</summary>
    [XdpProgram("xdp_sdiv")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 30 > ctx.DataEnd)
            return XdpAction.Pass;
        int a = *(int*)(data + 14) ;
        long b = *(long*)(data + 18);
        short c = *(short*)(data + 26);
        sbyte d = (sbyte)data[28];
        int q1 = a / Divisor + a % Divisor;
        int q2 = a / -5 - a % -5 + (a + Bias) / 2;
        long q3 = b / WideDivisor + b % 3 + b / long.MinValue;
        int q4 = c / 4 + c % -4 + d / 3 - d % 2;
        int q5 = a / int.MinValue + a % int.MinValue;
        c /= 3;
        d %= 5;
        *(int*)(data + 14) = q1 ^ q2;
        *(long*)(data + 18) = q3;
        *(short*)(data + 26) = c;
        data[28] = (byte)d;
        return ((q1 + q2 + q4 + q5) & 3) switch
        {
            0 => XdpAction.Drop,
            1 => XdpAction.Tx,
            _ => XdpAction.Pass,
        };
    }
}

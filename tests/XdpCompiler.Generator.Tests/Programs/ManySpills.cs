using XdpCompiler;

public static unsafe partial class ManySpills
{
    [Map] static readonly PerCpuArray<ulong> Counter = new(maxEntries: 1);

    /// <summary>Forty values live across one helper call: far more than ten registers, so many spills.</summary>
    [XdpProgram("xdp_many_spills")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 54 > ctx.DataEnd)
            return XdpAction.Pass;
        uint v0 = data[14];
        uint v1 = data[15];
        uint v2 = data[16];
        uint v3 = data[17];
        uint v4 = data[18];
        uint v5 = data[19];
        uint v6 = data[20];
        uint v7 = data[21];
        uint v8 = data[22];
        uint v9 = data[23];
        uint v10 = data[24];
        uint v11 = data[25];
        uint v12 = data[26];
        uint v13 = data[27];
        uint v14 = data[28];
        uint v15 = data[29];
        uint v16 = data[30];
        uint v17 = data[31];
        uint v18 = data[32];
        uint v19 = data[33];
        uint v20 = data[34];
        uint v21 = data[35];
        uint v22 = data[36];
        uint v23 = data[37];
        uint v24 = data[38];
        uint v25 = data[39];
        uint v26 = data[40];
        uint v27 = data[41];
        uint v28 = data[42];
        uint v29 = data[43];
        uint v30 = data[44];
        uint v31 = data[45];
        uint v32 = data[46];
        uint v33 = data[47];
        uint v34 = data[48];
        uint v35 = data[49];
        uint v36 = data[50];
        uint v37 = data[51];
        uint v38 = data[52];
        uint v39 = data[53];
        ulong* counter = Counter.Lookup(0);
        if (counter != null)
            *counter += v0;
        uint x = (v0 << 0) ^ (v1 << 1) ^ (v2 << 2) ^ (v3 << 3) ^ (v4 << 4) ^ (v5 << 5) ^ (v6 << 6) ^ (v7 << 7) ^ (v8 << 8) ^ (v9 << 9) ^ (v10 << 10) ^ (v11 << 11) ^ (v12 << 12) ^ (v13 << 13) ^ (v14 << 14) ^ (v15 << 15) ^ (v16 << 16) ^ (v17 << 17) ^ (v18 << 18) ^ (v19 << 19) ^ (v20 << 20) ^ (v21 << 21) ^ (v22 << 22) ^ (v23 << 23) ^ (v24 << 0) ^ (v25 << 1) ^ (v26 << 2) ^ (v27 << 3) ^ (v28 << 4) ^ (v29 << 5) ^ (v30 << 6) ^ (v31 << 7) ^ (v32 << 8) ^ (v33 << 9) ^ (v34 << 10) ^ (v35 << 11) ^ (v36 << 12) ^ (v37 << 13) ^ (v38 << 14) ^ (v39 << 15);
        x ^= x >> 11;
        return (x & 3) == 0 ? XdpAction.Drop : (x & 3) == 1 ? XdpAction.Tx : XdpAction.Pass;
    }
}

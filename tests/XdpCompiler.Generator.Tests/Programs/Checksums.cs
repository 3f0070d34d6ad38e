using XdpCompiler;

public static unsafe partial class Checksums
{
    /// <summary>Incremental IPv4 checksum update after a TTL decrement, with bpf_csum_diff, checked against a recount.</summary>
    [XdpProgram("xdp_checksums")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 34 > ctx.DataEnd)
            return XdpAction.Pass;
        var ip = (IPv4Header*)(data + 14);
        if (ip->TimeToLive <= 1)
            return XdpAction.Drop;

        // The 32-bit word holding TTL and protocol, before and after.
        uint before = *(uint*)(data + 22);
        ip->TimeToLive--;
        uint after = *(uint*)(data + 22);
        long sum = Bpf.CsumDiff(&before, 4, &after, 4, (uint)(ushort)~ip->ChecksumNetworkOrder);
        if (sum < 0)
            return XdpAction.Aborted;
        uint folded = Fold((uint)sum);
        ip->ChecksumNetworkOrder = (ushort)~folded;

        // Odd sizes and one-sided sums (pushing bytes into the sum) fold to the same value in the kernel and .NET.
        long pushed = Bpf.CsumDiff(null, 0, (uint*)(data + 26), 3, 0x1234);
        if (pushed >= 0)
            data[33] = (byte)Fold((uint)pushed);
        return XdpAction.Tx;
    }

    static uint Fold(uint sum)
    {
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        // 0xFFFF and 0 are the same one's-complement zero; architectures differ in which they produce.
        return sum == 0xFFFF ? 0 : sum;
    }
}

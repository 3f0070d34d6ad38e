using XdpCompiler;

public static unsafe partial class PointerIndexing
{
    /// <summary>
    /// Variable and negative constant indexes, pointer casts and pointer - constant. Every variable offset gets its own bounds
    /// check, as the verifier gives a pointer with a variable offset a fresh (unchecked) range.
    /// </summary>
    [XdpProgram("xdp_ptr_index")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        if (data + 100 > end)
            return XdpAction.Pass;
        byte* atp = data + (data[20] & 0x3f);
        if (atp + 1 > end)
            return XdpAction.Aborted;
        byte at = *atp;
        long acc = at;
        byte* mid = data + 80;
        acc += mid[-5];
        byte* lo = mid - 80 + (data[22] & 0x3f);
        if (lo + 1 > end)
            return XdpAction.Aborted;
        acc += *lo;
        ushort* words = (ushort*)data + (data[23] & 0x1f);
        if (words + 1 > (ushort*)end)
            return XdpAction.Aborted;
        ushort word = words[0];
        acc += word;
        uint* dwords = (uint*)(data + 2) + (data[24] & 7u);
        if ((byte*)(dwords + 1) > end)
            return XdpAction.Aborted;
        acc += *dwords;
        // The verifier rejects packet pointer minus a variable (negative minimum offset), so subtract from a constant.
        byte* down = data + (80 - (data[25] & 0x3f));
        if (down + 2 > end)
            return XdpAction.Aborted;
        byte downValue = *down;
        acc += downValue;
        byte* neg = mid + (sbyte)-80;
        acc += neg == data ? 1 : 0;
        byte* again = data + (ulong)(data[27] & 0x1f);
        if (again + 4 > end)
            return XdpAction.Aborted;
        acc += again[3];
        mid[-1] = (byte)(at + word);
        down[1] = downValue;
        acc += (sbyte)(data[21] | 0x80);
        return (acc & 3) == 0 ? XdpAction.Drop : (acc & 3) == 1 ? XdpAction.Tx : (acc & 3) == 2 ? XdpAction.Aborted : XdpAction.Pass;
    }
}

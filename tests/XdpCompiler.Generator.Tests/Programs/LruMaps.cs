using XdpCompiler;

public static unsafe partial class LruMaps
{
    // Far more entries than keys: the kernel's LRU lists then never need to evict, so both sides hold the same entries.
    [Map] static readonly LruHashMap<uint, ulong> Recent = new(maxEntries: 1024);
    [Map] static readonly LruPerCpuHashMap<ushort, uint> PerCpuRecent = new(maxEntries: 1024);

    /// <summary>LRU hash and LRU per-CPU hash: lookup, update with each flag, delete.</summary>
    [XdpProgram("xdp_lru_maps")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        if (data + 24 > end)
            return XdpAction.Pass;
        uint key = (uint)(data[20] & 31);
        int status;
        ulong* seen = Recent.Lookup(key);
        if (seen == null)
            status = Recent.Update(key, (ulong)(end - data), (MapUpdate)(data[21] % 3));
        else if (*seen > 1000)
            status = Recent.Delete(key);
        else
        {
            *seen += (ulong)(end - data);
            status = Recent.Update(key, *seen, data[22] > 128 ? MapUpdate.NoExist : MapUpdate.Exist);
        }

        ushort small = (ushort)(data[23] & 15);
        uint* count = PerCpuRecent.Lookup(small);
        if (count != null)
            (*count)++;
        else
            status += PerCpuRecent.Update(small, 1) * 3;
        if (data[22] < 16)
            status += PerCpuRecent.Delete((ushort)(small ^ 1)) * 5;

        data[14] = (byte)status;
        return status == 0 ? XdpAction.Pass : XdpAction.Drop;
    }
}

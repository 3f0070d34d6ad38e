using System.Runtime.InteropServices;
using XdpCompiler;

[StructLayout(LayoutKind.Sequential)]
public struct Ipv4Prefix
{
    public uint PrefixLength;
    public uint AddressNetworkOrder;
}

public static unsafe partial class LpmRoutes
{
    // Few entries, so the trie fills up and updates of new prefixes meet -ENOSPC on both sides.
    [Map] static readonly LpmTrie<Ipv4Prefix, uint> Routes = new(maxEntries: 24);

    /// <summary>
    /// An LPM trie filled and read by the program: prefixes of every length from the packet's bytes, then the longest
    /// match for an address, with delete and the update flags.
    /// </summary>
    [XdpProgram("xdp_lpm_routes")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        if (data + 34 > end)
            return XdpAction.Pass;
        // Addresses from a small space (10.x.y.z with x, y in 0..3) so prefixes overlap and lookups find them.
        uint address = 10u | (uint)(data[26] & 3) << 8 | (uint)(data[27] & 3) << 16 | (uint)data[28] << 24;
        uint length = (uint)(data[29] % 40);
        var prefix = new Ipv4Prefix { PrefixLength = length, AddressNetworkOrder = address };
        int status;
        if (data[30] < 200)
            status = Routes.Update(prefix, (uint)(data[31] | length << 8), (MapUpdate)(data[32] % 3));
        else
            status = Routes.Delete(prefix);

        var query = new Ipv4Prefix { PrefixLength = 32, AddressNetworkOrder = 10u | (uint)(data[30] & 3) << 8 | (uint)(data[31] & 3) << 16 | (uint)data[33] << 24 };
        uint* route = Routes.Lookup(query);
        uint found = route == null ? 0xFFFF : *route;
        if (route != null && data[33] > 240)
            *route = found + 1;
        data[14] = (byte)status;
        data[15] = (byte)found;
        data[16] = (byte)(found >> 8);
        return route == null ? XdpAction.Pass : XdpAction.Tx;
    }
}

using System.Runtime.InteropServices;
using XdpCompiler;

[StructLayout(LayoutKind.Sequential)]
public struct ZooPrefix
{
    public uint PrefixLength;
    public byte Network;
}

public static unsafe partial class MapZoo
{
    [Map] static readonly LruHashMap<uint, ulong> Lru = new(maxEntries: 512);
    [Map] static readonly LruPerCpuHashMap<uint, ulong> LruPerCpu = new(maxEntries: 512);
    [Map] static readonly LpmTrie<ZooPrefix, uint> Prefixes = new(maxEntries: 16);
    [Map] static readonly DevMapHash Devices = new(maxEntries: 8);
    [Map] static readonly CpuMap Cpus = new(maxEntries: 4);
    [Map] static readonly XskMap Sockets = new(maxEntries: 4);
    [Map] static readonly ProgramArray Jumps = new(maxEntries: 2) { [1] = Last };
    [Map] static readonly RingBuffer Log = new(maxEntries: 8192);
    [Map(Flags = MapFlags.NoPrealloc)] static readonly HashMap<uint, uint> Sparse = new(maxEntries: 64);

    /// <summary>Every map type the API has, each used once; the redirect maps are empty, so each falls back by its flags.</summary>
    [XdpProgram("xdp_map_zoo")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data;
        if (data + 20 > ctx.DataEnd)
            return XdpAction.Pass;
        uint key = data[14] & 7u;
        Lru.Update(key, 1);
        LruPerCpu.Update(key, 2);
        Sparse.Update(key, 3);
        var prefix = new ZooPrefix { PrefixLength = (uint)(data[18] % 9), Network = data[15] };
        Prefixes.Update(prefix, key);
        ulong flags = data[16] & 0x1Fu;
        return data[17] switch
        {
            < 50 => Devices.Redirect(key, flags),
            < 100 => Cpus.Redirect(key, flags),
            < 150 => Sockets.Redirect(key, flags),
            < 200 => Log.Output(key) == 0 ? XdpAction.Pass : XdpAction.Drop,
            _ => XdpAction.Tx,
        };
    }

    /// <summary>Slot 1 holds this program itself: the chain ends after the kernel's 33 tail calls, with Pass.</summary>
    [XdpProgram("xdp_map_zoo_last")]
    public static XdpAction Last(XdpContext ctx) => Jumps.TailCall(ctx, 1, XdpAction.Pass);
}

using XdpCompiler;

public struct Tally
{
    public ulong Bytes;
    public uint Largest;
}

public static unsafe partial class Globals
{
    static ulong packets;                          // .bss
    static uint lastLength = 7;                    // .data
    static Tally tally;                            // .bss, a struct
    [Config] static readonly ushort BlockedPort = 53;  // .rodata, settable by the loader
    [Config] static readonly uint MinimumLength = (64);

    /// <summary>Global variables: counters in .data/.bss, a struct global, load-time configuration in .rodata.</summary>
    [XdpProgram("xdp_globals")]
    public static XdpAction Run(XdpContext ctx)
    {
        packets++;
        byte* data = ctx.Data, end = ctx.DataEnd;
        uint length = (uint)(end - data);
        lastLength = length;
        tally.Bytes += length;
        if (length > tally.Largest)
            tally.Largest = length;
        if (length < MinimumLength || data + 38 > end)
            return XdpAction.Pass;
        ushort port = ((UdpHeader*)(data + 34))->DestinationPort;
        return port == BlockedPort ? XdpAction.Drop : XdpAction.Pass;
    }
}

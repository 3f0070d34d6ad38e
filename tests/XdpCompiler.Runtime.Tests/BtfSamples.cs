using XdpCompiler.Core.Btf;

namespace XdpCompiler.Runtime.Tests;

internal static class BtfSamples
{
    /// <summary>1: unsigned int (4 bytes), 2: unsigned long long (8 bytes).</summary>
    public static BtfTypeTable IntAndLong() => new([
        new BtfInt("unsigned int", 4, BtfIntEncoding.None, 32),
        new BtfInt("unsigned long long", 8, BtfIntEncoding.None, 64),
    ]);

    /// <summary>Types 1 and 2 as above, then a 4-byte struct with an 8-byte member, which the kernel refuses.</summary>
    public static BtfTypeTable Broken() => new([
        new BtfInt("unsigned int", 4, BtfIntEncoding.None, 32),
        new BtfInt("unsigned long long", 8, BtfIntEncoding.None, 64),
        new BtfComposite(false, "too_small", 4, [new BtfMember("wide", 2, 0)]),
    ]);

    /// <summary>
    /// What an XDP function needs for func_info: 1 int, 2 unsigned int, 3 struct xdp_md, 4 pointer to it,
    /// 5 int (struct xdp_md *ctx), 6 the FUNC named <paramref name="function"/>.
    /// </summary>
    public static BtfTypeTable XdpFunction(string function) => new([
        new BtfInt("int", 4, BtfIntEncoding.Signed, 32),
        new BtfInt("unsigned int", 4, BtfIntEncoding.None, 32),
        new BtfComposite(false, "xdp_md", 24, [
            new BtfMember("data", 2, 0),
            new BtfMember("data_end", 2, 32),
            new BtfMember("data_meta", 2, 64),
            new BtfMember("ingress_ifindex", 2, 96),
            new BtfMember("rx_queue_index", 2, 128),
            new BtfMember("egress_ifindex", 2, 160),
        ]),
        new BtfReference(BtfKind.Ptr, "", 3),
        new BtfFuncProto(1, [new BtfParam("ctx", 4)]),
        new BtfFunc(function, 5, BtfFuncLinkage.Global),
    ]);
}

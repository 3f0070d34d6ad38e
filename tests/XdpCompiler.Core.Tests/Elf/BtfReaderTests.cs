using System.Collections.Immutable;
using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Elf;
using XdpCompiler.TestKit;
using Xunit;
using static XdpCompiler.TestKit.Bytes;

namespace XdpCompiler.Core.Tests.Elf;

public class BtfReaderTests
{
    /// <summary>One type of every kind, with the flags each kind can carry.</summary>
    private static BtfTypeTable EveryKind() => new(ImmutableArray.Create<BtfType>(
        new BtfInt("int", 4, BtfIntEncoding.Signed, 32),                                        // 1
        new BtfInt("_Bool", 1, BtfIntEncoding.Bool, 1),                                         // 2
        new BtfReference(BtfKind.Ptr, "", 1),                                                   // 3
        new BtfArray(1, 1, 16),                                                                 // 4
        new BtfComposite(false, "pair", 8, ImmutableArray.Create(new BtfMember("a", 1, 0), new BtfMember("b", 1, 32))), // 5
        new BtfComposite(false, "flags", 4, ImmutableArray.Create(new BtfMember("x", 1, 0, 3), new BtfMember("y", 1, 3, 5))), // 6
        new BtfComposite(true, "either", 4, ImmutableArray.Create(new BtfMember("i", 1, 0), new BtfMember("", 5, 0))), // 7
        new BtfEnum(false, "color", 4, true, ImmutableArray.Create(new BtfEnumValue("RED", -1), new BtfEnumValue("BLUE", 7))), // 8
        new BtfEnum(false, "mask", 4, false, ImmutableArray.Create(new BtfEnumValue("ALL", 0xffffffff))), // 9
        new BtfEnum(true, "big", 8, false, ImmutableArray.Create(new BtfEnumValue("HUGE", 0x1_0000_0002))), // 10
        new BtfForward("later", false),                                                         // 11
        new BtfForward("later_union", true),                                                    // 12
        new BtfReference(BtfKind.Typedef, "myint", 1),                                          // 13
        new BtfReference(BtfKind.Volatile, "", 1),                                              // 14
        new BtfReference(BtfKind.Const, "", 14),                                                // 15
        new BtfReference(BtfKind.Restrict, "", 3),                                              // 16
        new BtfFuncProto(1, ImmutableArray.Create(new BtfParam("x", 1), new BtfParam("p", 3))), // 17
        new BtfFunc("f", 17, BtfFuncLinkage.Global),                                            // 18
        new BtfFunc("g", 17, BtfFuncLinkage.Static),                                            // 19
        new BtfVar("counter", 1, BtfVarLinkage.GlobalAllocated),                                // 20
        new BtfDataSec(".data", 8, ImmutableArray.Create(new BtfVarSecInfo(20, 4, 4))),         // 21
        new BtfFloat("double", 8),                                                              // 22
        new BtfDeclTag("tag", 5, 1),                                                            // 23
        new BtfDeclTag("whole", 18, -1),                                                        // 24
        new BtfReference(BtfKind.TypeTag, "user", 1)));                                         // 25

    [Fact]
    public void Every_kind_round_trips_through_the_writer()
    {
        var table = EveryKind();
        var (read, strings) = BtfReader.Read(BtfWriter.Write(table, new BtfStringTable()));

        Assert.Equal(table.Types.Length, read.Types.Length);
        for (var i = 0; i < table.Types.Length; i++)
            Assert.Equal(Describe(table.Types[i]), Describe(read.Types[i]));
        Assert.Equal("", strings[0]);
    }

    [Fact]
    public void Strings_are_found_by_offset()
    {
        var strings = new BtfStringTable();
        var offset = strings.Add("xdp");
        var (_, read) = BtfReader.Read(BtfWriter.Write(new BtfTypeTable([]), strings));

        Assert.Equal("xdp", read[offset]);
        Assert.True(read.TryGet(offset, out _));
        Assert.False(read.TryGet(1000, out _));
    }

    [ToolFact("/sys/kernel/btf/vmlinux")]
    public void Kernel_btf_parses()
    {
        var (types, _) = BtfReader.Read(File.ReadAllBytes("/sys/kernel/btf/vmlinux"));

        var xdpMd = types.Types.OfType<BtfComposite>().Single(t => t.Name == "xdp_md");
        Assert.Equal(24u, xdpMd.Size);
        Assert.Contains(types.Types, t => t is BtfFunc { Name: "bpf_xdp_adjust_head" } or BtfFunc { Name: "bpf_map_lookup_elem" });
    }

    public static TheoryData<string, Func<byte[], byte[]>, string> Malformed => new()
    {
        { "empty", _ => [], "shorter than the 24-byte header" },
        { "bad magic", b => Patch16(b, 0, 0x1234), "magic is 0x1234" },
        { "big endian", b => Patch16(b, 0, 0x9feb), "big-endian" },
        { "version 2", b => Patch8(b, 2, 2), "version is 2" },
        { "type section past the end", b => Patch32(b, 12, 100_000), "runs past the end" },
        { "string section past the end", b => Patch32(b, 20, 100_000), "runs past the end" },
        { "unknown kind", b => Patch8(b, 24 + 7, 31), "unknown kind 31" },
        { "truncated member list", b => Patch32(b, 24 + 4, (4u << 24) | 500), "needs 6000 more bytes" },
        { "name offset outside strings", b => Patch32(b, 24, 99_999), "string offset 99999" },
        { "dangling type reference", b => Patch32(b, 24 + 16 + 8, 77), "refers to type 77" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_btf_raises_format_exception_with_context(string what, Func<byte[], byte[]> damage, string expected)
    {
        // Type 1: INT "int" (16 bytes); type 2: PTR to 1 (12 bytes).
        var table = new BtfTypeTable([new BtfInt("int", 4, BtfIntEncoding.Signed, 32), new BtfReference(BtfKind.Ptr, "", 1)]);
        var bytes = BtfWriter.Write(table, new BtfStringTable());

        var e = Assert.Throws<FormatException>(() => BtfReader.Read(damage(bytes)));
        Assert.Contains(expected, e.Message);
        Assert.False(string.IsNullOrEmpty(what));
    }

    [Fact]
    public void Loops_that_sizing_would_follow_forever_are_malformed_but_pointer_loops_are_fine()
    {
        BtfTypeTable Table(params BtfType[] types) => new(types.ToImmutableArray());
        byte[] Bytes(BtfTypeTable table) => BtfWriter.Write(table, new BtfStringTable());

        var arrayOfItself = Bytes(Table(new BtfInt("int", 4, BtfIntEncoding.Signed, 32), new BtfArray(2, 1, 4)));
        Assert.Contains("refers to itself", Assert.Throws<FormatException>(() => BtfReader.Read(arrayOfItself)).Message);
        var typedefLoop = Bytes(Table(new BtfReference(BtfKind.Typedef, "a", 2), new BtfReference(BtfKind.Const, "", 1)));
        Assert.Contains("refers to itself", Assert.Throws<FormatException>(() => BtfReader.Read(typedefLoop)).Message);

        var list = Table(
            new BtfComposite(false, "list", 8, ImmutableArray.Create(new BtfMember("next", 2, 0))),
            new BtfReference(BtfKind.Ptr, "", 1));
        var (read, _) = BtfReader.Read(Bytes(list));
        Assert.Equal(8u, read.SizeOf(1));
    }

    [Fact]
    public void Btf_ext_round_trips_and_rejects_damage()
    {
        var info = new BtfExtInfo(
            [new BtfExtSection<BtfFuncInfoRecord>(1, [new(0, 5), new(16, 6)])],
            [new BtfExtSection<BtfLineInfoRecord>(1, [new(0, 2, 3, BtfLineInfoRecord.Pack(10, 4)), new(8, 2, 9, BtfLineInfoRecord.Pack(11, 0))])]);
        var bytes = info.Write();

        var read = BtfExtInfo.Read(bytes);
        Assert.Equal(info.FuncInfo.Single().Records.ToArray(), read.FuncInfo.Single().Records.ToArray());
        Assert.Equal(info.LineInfo.Single().Records.ToArray(), read.LineInfo.Single().Records.ToArray());
        Assert.Equal(0, read.CoreRelocationCount);
        Assert.Equal((10u, 4u), (read.LineInfo[0].Records[0].Line, read.LineInfo[0].Records[0].Column));

        Assert.Contains("magic", Assert.Throws<FormatException>(() => BtfExtInfo.Read(Patch16(bytes, 0, 1))).Message);
        Assert.Contains("record size 4", Assert.Throws<FormatException>(() => BtfExtInfo.Read(Patch32(bytes, 32, 4))).Message);
        Assert.Contains("claims 1000 records", Assert.Throws<FormatException>(() => BtfExtInfo.Read(Patch32(bytes, 40, 1000))).Message);
        Assert.Contains("runs past the end", Assert.Throws<FormatException>(() => BtfExtInfo.Read(bytes[..40])).Message);
    }

    private static string Describe(BtfType type) => type switch
    {
        BtfComposite c => $"{c} [{string.Join(", ", c.Members)}]",
        BtfEnum e => $"{e} [{string.Join(", ", e.Values)}]",
        BtfFuncProto p => $"{p} [{string.Join(", ", p.Params)}]",
        BtfDataSec d => $"{d} [{string.Join(", ", d.Vars)}]",
        _ => type.ToString(),
    };
}

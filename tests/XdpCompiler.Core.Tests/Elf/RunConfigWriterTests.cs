using LibObjectFile.Elf;
using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Elf;
using XdpCompiler.Core.Objects;
using XdpCompiler.TestKit;
using Xunit;
using static XdpCompiler.Core.Tests.Elf.ElfObjectWriterTests;

namespace XdpCompiler.Core.Tests.Elf;

/// <summary>
/// libxdp run configs in the written ELF: what libxdp's xdp_parse_run_config reads (a VAR <c>_program</c> in the BTF
/// DATASEC <c>.xdp_run_config</c>, a struct of <c>int (*name)[value]</c> members) in the shape clang gives the
/// <c>XDP_RUN_CONFIG</c> macro (a writable data section with a global object symbol per config).
/// </summary>
public class RunConfigWriterTests
{
    private static readonly uint Pass = 1u << 2, Drop = 1u << 1;

    private static BpfObject Configured(params BpfRunConfig[] configs) =>
        SampleObjects.Counter() with
        {
            Programs = [SampleObjects.Counter().Programs[0], SampleObjects.Pass("xdp_second", "xdp.frags"), SampleObjects.Pass("xdp_devmap", "xdp/devmap")],
            RunConfigs = [.. configs],
        };

    [Fact]
    public void Section_and_symbols_are_clangs_for_xdp_run_config()
    {
        var elf = Parse(ElfObjectWriter.Write(Configured(new BpfRunConfig("xdp_count", 7, Pass | Drop), new BpfRunConfig("xdp_second", 0, 0))));

        Assert.Equal(
            ["", ".strtab", "xdp", ".relxdp", "xdp.frags", "xdp/devmap", ".maps", ".xdp_run_config", "license", ".BTF", ".BTF.ext", ".symtab"],
            elf.Sections.Select(s => s.Name.Value ?? "").ToArray());
        var section = Section(elf, ".xdp_run_config");
        Assert.Equal((ElfSectionType.ProgBits, ElfSectionFlags.Write | ElfSectionFlags.Alloc, 8u), (section.Type, section.Flags, section.VirtualAddressAlignment));
        Assert.Equal(new byte[96], Content(section));
        var symbols = elf.Sections.OfType<ElfSymbolTable>().Single().Entries;
        foreach (var (name, offset) in new[] { ("_xdp_count", 0ul), ("_xdp_second", 48ul) })
        {
            var symbol = symbols.Single(s => s.Name.Value == name);
            Assert.Equal((ElfSymbolType.Object, ElfSymbolBind.Global, offset, 48ul), (symbol.Type, symbol.Bind, symbol.Value, symbol.Size));
            Assert.Same(section, symbol.SectionLink.Section);
        }
    }

    [Fact]
    public void Btf_gives_the_priority_and_every_action_as_array_lengths()
    {
        var bytes = ElfObjectWriter.Write(Configured(new BpfRunConfig("xdp_count", 7, Pass | Drop), new BpfRunConfig("xdp_second", 3_000_000_000, 0b11111)));
        var (types, _) = BtfReader.Read(Content(Section(Parse(bytes), ".BTF")));

        var dataSec = Assert.Single(types.Types.OfType<BtfDataSec>(), d => d.Name == ".xdp_run_config");
        Assert.Equal(96u, dataSec.Size);
        Assert.Equal(
            [("_xdp_count", 0u, 48u), ("_xdp_second", 48u, 48u)],
            dataSec.Vars.Select(v => (((BtfVar)types[v.Type]!).Name, v.Offset, v.Size)).ToArray());
        Assert.All(dataSec.Vars, v => Assert.Equal(BtfVarLinkage.GlobalAllocated, ((BtfVar)types[v.Type]!).Linkage));
        Assert.Equal(
            [("priority", 7u), ("XDP_ABORTED", 0u), ("XDP_DROP", 1u), ("XDP_PASS", 1u), ("XDP_TX", 0u), ("XDP_REDIRECT", 0u)],
            Members(types, dataSec.Vars[0].Type));
        Assert.Equal(
            [("priority", 3_000_000_000u), ("XDP_ABORTED", 1u), ("XDP_DROP", 1u), ("XDP_PASS", 1u), ("XDP_TX", 1u), ("XDP_REDIRECT", 1u)],
            Members(types, dataSec.Vars[1].Type));
    }

    [Fact]
    public void Objects_without_run_configs_are_written_as_before()
    {
        var obj = SampleObjects.Counter();
        Assert.Equal(ElfObjectWriter.Write(obj), ElfObjectWriter.Write(obj with { RunConfigs = [] }));
        Assert.DoesNotContain(Parse(ElfObjectWriter.Write(obj)).Sections, s => s.Name.Value == ".xdp_run_config");
    }

    public static TheoryData<string, Func<BpfObject, BpfObject>, string> InvalidRunConfigs => new()
    {
        { "unknown program", o => o with { RunConfigs = [new BpfRunConfig("xdp_missing", 1, Pass)] }, "no such program" },
        { "devmap program", o => o with { RunConfigs = [new BpfRunConfig("xdp_devmap", 1, Pass)] }, "section 'xdp/devmap'" },
        { "twice", o => o with { RunConfigs = [new BpfRunConfig("xdp_count", 1, Pass), new BpfRunConfig("xdp_count", 2, Pass)] }, "two run configs" },
        { "unknown action bit", o => o with { RunConfigs = [new BpfRunConfig("xdp_count", 1, 1u << 5)] }, "bits beyond the five XDP actions" },
        { "symbol taken", o => o with { Maps = [o.Maps[0] with { Name = "_xdp_count" }], Programs = [o.Programs[0] with { Relocations = [] }, .. o.Programs.Skip(1)] }, "'_xdp_count' is already" },
        { "datasec given in Types", o => o with { Types = new BtfTypeTable([new BtfDataSec(".xdp_run_config", 0, [])]) }, "already contains a DATASEC '.xdp_run_config'" },
    };

    [Theory]
    [MemberData(nameof(InvalidRunConfigs))]
    public void Invalid_run_configs_are_refused_with_the_reason(string what, Func<BpfObject, BpfObject> change, string expected)
    {
        var obj = change(Configured(new BpfRunConfig("xdp_count", 1, Pass)));
        var e = Assert.ThrowsAny<ArgumentException>(() => ElfObjectWriter.Write(obj));
        Assert.Contains(expected, e.Message);
        Assert.False(string.IsNullOrEmpty(what));
    }

    [ToolFact("llvm-readelf-19", "bpftool")]
    public void Readelf_and_bpftool_read_the_run_config()
    {
        using var dir = new TempDirectory();
        var path = dir.File("configured.bpf.o");
        File.WriteAllBytes(path, ElfObjectWriter.Write(Configured(new BpfRunConfig("xdp_count", 7, Pass | Drop))));

        var readelf = Tools.Run("llvm-readelf-19", "-a", path);
        Assert.DoesNotContain("warning", readelf.Error + readelf.Output, StringComparison.OrdinalIgnoreCase);
        Assert.Matches(@"\.xdp_run_config\s+PROGBITS", readelf.Output);
        Assert.Matches(@"48\s+OBJECT\s+GLOBAL\s+DEFAULT\s+\d+\s+_xdp_count", readelf.Output);

        var btf = Tools.Run("bpftool", "btf", "dump", "file", path).Output;
        Assert.Contains("DATASEC '.xdp_run_config' size=48 vlen=1", btf);
        Assert.Contains("offset=0 size=48 (VAR '_xdp_count')", btf);
        Assert.Matches(@"'priority' type_id=\d+ bits_offset=0\n\s+'XDP_ABORTED' type_id=\d+ bits_offset=64\n", btf);
    }

    /// <summary>Each member's name and the length of the array its pointer points at (the __uint encoding).</summary>
    private static (string, uint)[] Members(BtfTypeTable types, uint variable)
    {
        var definition = Assert.IsType<BtfComposite>(types[((BtfVar)types[variable]!).Type]);
        Assert.Equal(48u, definition.Size);
        Assert.Equal("", definition.Name);
        Assert.Equal([0u, 64u, 128u, 192u, 256u, 320u], definition.Members.Select(m => m.BitOffset).ToArray());
        return definition.Members.Select(m =>
        {
            var pointer = Assert.IsType<BtfReference>(types[m.Type]);
            Assert.Equal(BtfKind.Ptr, pointer.ReferenceKind);
            return (m.Name, Assert.IsType<BtfArray>(types[pointer.Type]).Count);
        }).ToArray();
    }
}

using System.Collections.Immutable;
using System.Text.Json;
using LibObjectFile.Elf;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Elf;
using XdpCompiler.Core.Objects;
using XdpCompiler.TestKit;
using Xunit;
using static XdpCompiler.Core.Tests.Elf.ElfObjectWriterTests;

namespace XdpCompiler.Core.Tests.Elf;

/// <summary>Global data (<c>.data</c>, <c>.rodata</c>, <c>.bss</c>) in the written ELF, in the shape clang and libbpf use.</summary>
public class GlobalDataWriterTests
{
    [Fact]
    public void Data_sections_have_clang_types_flags_and_contents()
    {
        var elf = Parse(ElfObjectWriter.Write(SampleObjects.Globals(blocked: 0x1234)));

        Assert.Equal(
            ["", ".strtab", "xdp", ".relxdp", ".data", ".rodata", ".bss", "license", ".BTF", ".BTF.ext", ".symtab"],
            elf.Sections.Select(s => s.Name.Value ?? "").ToArray());
        var data = Section(elf, ".data");
        Assert.Equal((ElfSectionType.ProgBits, ElfSectionFlags.Write | ElfSectionFlags.Alloc, 8u), (data.Type, data.Flags, data.VirtualAddressAlignment));
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0 }, Content(data));
        var rodata = Section(elf, ".rodata");
        Assert.Equal((ElfSectionType.ProgBits, ElfSectionFlags.Alloc, 8u), (rodata.Type, rodata.Flags, rodata.VirtualAddressAlignment));
        Assert.Equal(new byte[] { 0x34, 0x12 }, Content(rodata));
        var bss = Section(elf, ".bss");
        Assert.Equal((ElfSectionType.NoBits, ElfSectionFlags.Write | ElfSectionFlags.Alloc, 8u, 8ul), (bss.Type, bss.Flags, bss.VirtualAddressAlignment, bss.Size));
    }

    [Fact]
    public void Each_variable_is_a_global_object_symbol_and_relocations_name_it()
    {
        var elf = Parse(ElfObjectWriter.Write(SampleObjects.Globals()));
        var symbols = elf.Sections.OfType<ElfSymbolTable>().Single().Entries;

        foreach (var (name, section, offset, size) in new[] { ("counter", ".data", 0ul, 8ul), ("step", ".data", 8ul, 8ul), ("blocked", ".rodata", 0ul, 2ul), ("drops", ".bss", 0ul, 8ul) })
        {
            var symbol = symbols.Single(s => s.Name.Value == name);
            Assert.Equal((ElfSymbolType.Object, ElfSymbolBind.Global, offset, size), (symbol.Type, symbol.Bind, symbol.Value, symbol.Size));
            Assert.Same(Section(elf, section), symbol.SectionLink.Section);
        }
        var relocations = elf.Sections.OfType<ElfRelocationTable>().Single();
        Assert.Equal(
            [(0ul, "counter"), (24ul, "counter"), (64ul, "blocked"), (104ul, "drops")],
            relocations.Entries.Select(r => (r.Offset, symbols[(int)r.SymbolIndex].Name.Value)).ToArray());
        Assert.All(relocations.Entries, r => Assert.Equal(BpfElf.RelocationLoadImm64, r.Type.Value));
        // The addend stays in the instruction (SHT_REL): libbpf adds it to the symbol's offset.
        var code = Instruction.Decode(Content(Section(elf, "xdp")));
        Assert.Equal((0, 8, 0, 0), (code[0].Imm, code[3].Imm, code[8].Imm, code[13].Imm));
    }

    [Fact]
    public void Btf_has_a_var_per_variable_and_a_datasec_per_section()
    {
        var (types, _) = BtfReader.Read(Content(Section(Parse(ElfObjectWriter.Write(SampleObjects.Globals())), ".BTF")));

        var sections = types.Types.OfType<BtfDataSec>().ToDictionary(d => d.Name);
        Assert.Equal([".data", ".rodata", ".bss"], sections.Keys.ToArray());
        Assert.Equal((16u, 2u, 8u), (sections[".data"].Size, sections[".rodata"].Size, sections[".bss"].Size));
        var data = sections[".data"].Vars.Select(v => (((BtfVar)types[v.Type]!).Name, v.Offset, v.Size)).ToArray();
        Assert.Equal([("counter", 0u, 8u), ("step", 8u, 8u)], data);
        var vars = types.Types.OfType<BtfVar>().ToDictionary(v => v.Name);
        Assert.All(vars.Values, v => Assert.Equal(BtfVarLinkage.GlobalAllocated, v.Linkage));
        Assert.Equal(1u, vars["blocked"].Type); // the object's own type
        Assert.Equal(new BtfInt("unsigned long long", 8, BtfIntEncoding.None, 64), types[vars["counter"].Type]); // by size
        Assert.Equal(new BtfInt("unsigned long long", 8, BtfIntEncoding.None, 64), types[vars["drops"].Type]);
    }

    [Fact]
    public void A_variable_without_a_type_of_odd_size_is_a_byte_array()
    {
        var obj = SampleObjects.Globals();
        obj = obj with { DataSections = [.. obj.DataSections, new BpfDataSection(".data.names", new byte[6].ToImmutableArray(), [new BpfGlobalVariable("name", 0, 6)])] };

        var (types, _) = BtfReader.Read(Content(Section(Parse(ElfObjectWriter.Write(obj)), ".BTF")));

        var variable = types.Types.OfType<BtfVar>().Single(v => v.Name == "name");
        var array = Assert.IsType<BtfArray>(types[variable.Type]);
        Assert.Equal(6u, array.Count);
        Assert.Equal(1u, types.SizeOf(array.ElementType));
    }

    [Fact]
    public void Objects_without_data_are_written_as_before()
    {
        var obj = SampleObjects.Counter();
        Assert.Equal(ElfObjectWriter.Write(obj), ElfObjectWriter.Write(obj with { DataSections = [] }));
    }

    public static TheoryData<string, Func<BpfObject, BpfObject>, string> InvalidGlobals => new()
    {
        { "unknown variable", o => WithRelocation(o, new BpfRelocation(0, "nothing", BpfRelocationKind.GlobalData)), "'nothing', which is not a variable" },
        { "relocation not on ld_imm64", o => WithRelocation(o, new BpfRelocation(2, "counter", BpfRelocationKind.GlobalData)), "must point at an ld_imm64" },
        { "section name", o => WithSection(o, 0, s => s with { Name = ".text" }), "must start with .data, .rodata or .bss" },
        { "section twice", o => o with { DataSections = [o.DataSections[0], o.DataSections[0]] }, "given twice" },
        { "empty section", o => WithSection(o, 0, s => s with { Contents = [], Variables = [] }), "is empty" },
        { "bss with contents", o => WithSection(o, 2, s => s with { Contents = [1, 0, 0, 0, 0, 0, 0, 0] }), "all zeros" },
        { "variable outside", o => WithSection(o, 0, s => s with { Variables = [new BpfGlobalVariable("counter", 12, 8)] }), "inside the 16-byte section" },
        { "overlapping variables", o => WithSection(o, 0, s => s with { Variables = [new BpfGlobalVariable("counter", 0, 8), new BpfGlobalVariable("step", 4, 8)] }), "overlaps" },
        { "variable name", o => WithSection(o, 0, s => s with { Variables = [new BpfGlobalVariable("my-counter", 0, 8)] }), "C identifier" },
        { "variable named like the program", o => WithSection(o, 2, s => s with { Variables = [new BpfGlobalVariable("xdp_globals", 0, 8)] }), "used twice" },
        { "type of another size", o => WithSection(o, 2, s => s with { Variables = [new BpfGlobalVariable("drops", 0, 8, Type: 1)] }), "is 2 bytes but the variable size is 8" },
        { "datasec given in Types", o => o with { Types = new BtfTypeTable([.. o.Types.Types, new BtfDataSec(".bss", 8, [])]) }, "already contains a DATASEC '.bss'" },
    };

    [Theory]
    [MemberData(nameof(InvalidGlobals))]
    public void Invalid_global_data_is_refused_with_the_reason(string what, Func<BpfObject, BpfObject> change, string expected)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => ElfObjectWriter.Write(change(SampleObjects.Globals())));
        Assert.Contains(expected, e.Message);
        Assert.False(string.IsNullOrEmpty(what));
    }

    [ToolFact("llvm-readelf-19", "llvm-objdump-19", "bpftool")]
    public void Llvm_tools_and_bpftool_read_the_data_sections()
    {
        using var dir = new TempDirectory();
        var path = dir.File("globals.bpf.o");
        File.WriteAllBytes(path, ElfObjectWriter.Write(SampleObjects.Globals()));

        var readelf = Tools.Run("llvm-readelf-19", "-a", path);
        Assert.DoesNotContain("warning", readelf.Error + readelf.Output, StringComparison.OrdinalIgnoreCase);
        Assert.Matches(@"\.bss\s+NOBITS", readelf.Output);
        Assert.Matches(@"OBJECT\s+GLOBAL\s+DEFAULT\s+\d+\s+counter", readelf.Output);

        var objdump = Tools.Run("llvm-objdump-19", "-d", "-r", path);
        Assert.Equal("", objdump.Error);
        Assert.Contains("R_BPF_64_64\tcounter", objdump.Output);
        Assert.Contains("R_BPF_64_64\tblocked", objdump.Output);
        Assert.Contains("R_BPF_64_64\tdrops", objdump.Output);

        var btf = Tools.Run("bpftool", "btf", "dump", "file", path).Output;
        Assert.Contains("DATASEC '.data' size=16 vlen=2", btf);
        Assert.Contains("type_id=", btf);
        Assert.Contains("offset=8 size=8 (VAR 'step')", btf);
        Assert.Contains("DATASEC '.rodata' size=2 vlen=1", btf);
        Assert.Contains("DATASEC '.bss' size=8 vlen=1", btf);
    }

    [KernelToolFact("bpftool")]
    public void Bpftool_loads_the_object_with_its_global_data_maps()
    {
        using var dir = new TempDirectory();
        using var pins = new BpfFsDirectory();
        var path = dir.File("globals.bpf.o");
        File.WriteAllBytes(path, ElfObjectWriter.Write(SampleObjects.Globals()));

        Tools.Run("bpftool", "prog", "loadall", path, pins.Combine("progs"), "pinmaps", pins.Combine("maps"));

        // libbpf pins internal maps under their names with '.' made '_'.
        Assert.Equal(["globals_bss", "globals_data", "globals_rodata"], Directory.GetFiles(pins.Combine("maps")).Select(p => Path.GetFileName(p)!).Order().ToArray());
        using var rodata = JsonDocument.Parse(Tools.Run("bpftool", "-j", "map", "show", "pinned", pins.Combine("maps/globals_rodata")).Output);
        Assert.Equal(("array", "globals.rodata", 4, 2, 1), (
            rodata.RootElement.GetProperty("type").GetString(),
            rodata.RootElement.GetProperty("name").GetString(),
            rodata.RootElement.GetProperty("bytes_key").GetInt32(),
            rodata.RootElement.GetProperty("bytes_value").GetInt32(),
            rodata.RootElement.GetProperty("max_entries").GetInt32()));
        using var program = JsonDocument.Parse(Tools.Run("bpftool", "-j", "prog", "show", "pinned", pins.Combine("progs/xdp_globals")).Output);
        Assert.Equal(3, program.RootElement.GetProperty("map_ids").GetArrayLength());
        var run = Tools.Run("bpftool", "prog", "run", "pinned", pins.Combine("progs/xdp_globals"), "data_in", WritePacket(dir), "repeat", "1");
        Assert.Contains("Return value: 2", run.Output);
    }

    private static string WritePacket(TempDirectory dir)
    {
        var path = dir.File("packet.bin");
        File.WriteAllBytes(path, new byte[64]);
        return path;
    }

    private static BpfObject WithRelocation(BpfObject obj, BpfRelocation relocation) =>
        obj with { Programs = [obj.Programs[0] with { Relocations = [.. obj.Programs[0].Relocations, relocation] }] };

    private static BpfObject WithSection(BpfObject obj, int index, Func<BpfDataSection, BpfDataSection> change) =>
        obj with { DataSections = obj.DataSections.SetItem(index, change(obj.DataSections[index])) };
}

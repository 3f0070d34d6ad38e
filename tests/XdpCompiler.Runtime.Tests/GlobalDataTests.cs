using System.Collections.Immutable;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Elf;
using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime.Elf;
using XdpCompiler.Runtime.Interop;
using XdpCompiler.Runtime.Tests.Elf;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Runtime.Tests;

/// <summary>
/// Global data end to end: our writer's and clang's <c>.data</c>/<c>.rodata</c>/<c>.bss</c> read back into the model
/// and loaded as libbpf's internal maps, with load-time constants, a frozen <c>.rodata</c> and typed variable access.
/// </summary>
public sealed class GlobalDataTests
{
    // ---- reader ----

    [Fact]
    public void Written_global_data_reads_back_equal()
    {
        var original = SampleObjects.Globals(blocked: 7);

        var read = ElfObjectReader.Read(ElfObjectWriter.Write(original), "globals");

        Assert.Equal(Describe(original.DataSections), Describe(read.DataSections));
        var program = Assert.Single(read.Programs);
        Assert.Equal(original.Programs[0].Relocations.ToArray(), program.Relocations.ToArray());
        Assert.Equal(original.Programs[0].Instructions.ToArray(), program.Instructions.ToArray()); // imm 8 of "counter + 8" kept
        Assert.Equal(original.Types[1], read.Types[read.DataSections[1].Variables[0].Type]);
    }

    [ToolFact(Clang.Tool)]
    public void Clang_static_global_and_const_volatile_variables_are_read()
    {
        using var dir = new TempDirectory();

        var read = ElfObjectReader.Read(Clang.Compile("globals", dir.Path));

        Assert.Equal(
            [".data: total@0+8 [05-00-00-00-00-00-00-00]", ".rodata: port@0+2 [35-00]", ".bss: hits@0+8 [00-00-00-00-00-00-00-00]"],
            Describe(read.DataSections));
        Assert.Equal("__u16", ResolveTypedefName(read.Types, read.DataSections[1].Variables[0].Type));
        // hits is static: clang relocates it against the .bss section symbol; the reader names the variable.
        var relocations = Assert.Single(read.Programs).Relocations;
        Assert.Equal(["hits", "total", "port"], relocations.Select(r => r.Symbol).ToArray());
        Assert.All(relocations, r => Assert.Equal(BpfRelocationKind.GlobalData, r.Kind));
        Assert.All(relocations, r => Assert.Equal(0, read.Programs[0].Instructions[r.InstructionIndex].Imm));
    }

    [Fact]
    public void A_section_symbol_reference_into_the_middle_of_a_variable_keeps_the_rest_in_imm()
    {
        // Written against "step" + 4, read back from the symbol: same variable, same imm. Then the same through the
        // section: offset 12 of .data is inside "step" (8..16), so imm becomes 4.
        var obj = SampleObjects.Globals();
        var program = obj.Programs[0];
        var instructions = program.Instructions.SetItem(3, program.Instructions[3] with { Imm = 4 });
        var relocations = program.Relocations.SetItem(1, new BpfRelocation(3, "step", BpfRelocationKind.GlobalData));
        obj = obj with { Programs = [program with { Instructions = instructions, Relocations = relocations }] };

        var read = ElfObjectReader.Read(ElfObjectWriter.Write(obj), "globals");

        Assert.Equal(new BpfRelocation(3, "step", BpfRelocationKind.GlobalData), read.Programs[0].Relocations[1]);
        Assert.Equal(4, read.Programs[0].Instructions[3].Imm);
    }

    // ---- loader: our object ----

    [KernelFact]
    public void Our_object_loads_counts_in_data_and_passes_with_the_default_constant()
    {
        using var loaded = BpfObjectLoader.Load(ElfObjectWriter.Write(SampleObjects.Globals()), "globals");

        Assert.True(loaded.Warnings.IsEmpty, string.Join("\n", loaded.Warnings));
        Assert.Equal([".bss", ".data", ".rodata"], loaded.DataSections.Keys.Order(StringComparer.Ordinal).ToArray());
        Assert.Empty(loaded.Maps);
        Assert.Equal(0ul, loaded.Global<ulong>("drops").Value); // .bss starts zeroed
        var result = loaded.Program("xdp_globals").TestRun(TestPrograms.Ipv4Frame(), repeat: 5);

        Assert.Equal(XdpAction.Pass, result.Action);
        Assert.Equal(5ul, loaded.Global<ulong>("counter").Value);
        Assert.Equal(1ul, loaded.Global<ulong>("step").Value);
        Assert.Equal(0ul, loaded.Global<ulong>("drops").Value);
        Assert.Equal((ushort)0, loaded.Global<ushort>("blocked").Value);
    }

    [KernelFact]
    public void Maps_are_named_and_flagged_as_libbpf_does_with_the_datasec_as_value_type()
    {
        using var loaded = BpfObjectLoader.Load(ElfObjectWriter.Write(SampleObjects.Globals()), "globals");

        var data = loaded.DataSection(".data").Map;
        var rodata = loaded.DataSection(".rodata").Map;
        var bss = loaded.DataSection(".bss").Map;
        Assert.Equal(("globals.data", "globals.rodata", "globals.bss"), (data.Name, rodata.Name, bss.Name));
        Assert.Equal((BpfMapType.Array, 4, 16, 1u), (data.Type, data.KeySize, data.ValueSize, data.MaxEntries));
        Assert.Equal((0x400u, 0x480u, 0x400u), (data.Definition.Flags, rodata.Definition.Flags, bss.Definition.Flags));
        Assert.True(data.HasBtf && rodata.HasBtf && bss.HasBtf);
        Assert.Equal(".data", Assert.IsType<BtfDataSec>(loaded.Object.Types[data.Definition.ValueType]).Name);
        var shown = Netns.Run("bpftool", "map", "show", "id", rodata.Id.ToString());
        Assert.Contains("name globals.rodata", shown);
        Assert.Contains("flags 0x480", shown);
        Assert.Contains("frozen", shown);
    }

    [KernelFact]
    public void A_constant_set_at_load_changes_the_verdict_and_bss_counts_the_drops()
    {
        var options = new BpfObjectLoadOptions().WithConstant("blocked", (ushort)443);

        using var loaded = BpfObjectLoader.Load(ElfObjectWriter.Write(SampleObjects.Globals()), "globals", options);
        var result = loaded.Program("xdp_globals").TestRun(TestPrograms.Ipv4Frame(), repeat: 3);

        Assert.Equal(XdpAction.Drop, result.Action);
        Assert.Equal((ushort)443, loaded.Global<ushort>("blocked").Value);
        Assert.Equal(3ul, loaded.Global<ulong>("drops").Value);
        Assert.Equal(3ul, loaded.Global<ulong>("counter").Value);
    }

    [KernelFact]
    public void Rodata_is_frozen_after_load()
    {
        using var loaded = BpfObjectLoader.Load(ElfObjectWriter.Write(SampleObjects.Globals()), "globals");
        var rodata = loaded.DataSection(".rodata");

        Assert.False(rodata.Map.TryUpdate(new byte[4], new byte[] { 1, 0 }, MapUpdateFlags.Any, out var errno));
        Assert.Equal(Errno.EPERM, errno);
        var e = Assert.Throws<InvalidOperationException>(() => loaded.Global<ushort>("blocked").Value = 1);
        Assert.Contains("Constants", e.Message);
        Assert.Equal(new byte[] { 0, 0 }, rodata.Read());
    }

    [KernelFact]
    public void Data_and_bss_variables_can_be_written_after_load()
    {
        using var loaded = BpfObjectLoader.Load(ElfObjectWriter.Write(SampleObjects.Globals()), "globals");

        loaded.Global<ulong>("counter").Value = 100;
        loaded.Global<ulong>("step").Value = 10;
        loaded.Global<ulong>("drops").Value = 42;
        loaded.Program("xdp_globals").TestRun(TestPrograms.Ipv4Frame());

        Assert.Equal(110ul, loaded.Global<ulong>("counter").Value);
        Assert.Equal(42ul, loaded.Global<ulong>("drops").Value);
    }

    [KernelFact]
    public void Wrong_names_and_sizes_are_refused_clearly()
    {
        var elf = ElfObjectWriter.Write(SampleObjects.Globals());

        var unknown = Assert.Throws<ArgumentException>(() => BpfObjectLoader.Load(elf, "globals", new BpfObjectLoadOptions().WithConstant("port", (ushort)1)));
        Assert.Contains("no global variable 'port'", unknown.Message);
        Assert.Contains("blocked (.rodata, 2 B)", unknown.Message);
        var size = Assert.Throws<ArgumentException>(() => BpfObjectLoader.Load(elf, "globals", new BpfObjectLoadOptions().WithConstant("blocked", 1u)));
        Assert.Contains("is 2 bytes; the value given for it is 4 bytes", size.Message);

        using var loaded = BpfObjectLoader.Load(elf, "globals");
        Assert.Throws<ArgumentException>(() => loaded.Global<uint>("counter"));
        Assert.Throws<KeyNotFoundException>(() => loaded.Global<ulong>("nothing"));
        Assert.Throws<KeyNotFoundException>(() => loaded.DataSection(".data.other"));
    }

    // ---- loader: clang's object ----

    [KernelToolFact(Clang.Tool)]
    public void Clang_object_loads_with_static_global_and_constant_variables()
    {
        using var dir = new TempDirectory();
        var path = Clang.Compile("globals", dir.Path);

        using (var loaded = BpfObjectLoader.LoadFile(path))
        {
            Assert.True(loaded.Warnings.IsEmpty, string.Join("\n", loaded.Warnings));
            Assert.Equal(0ul, loaded.Global<ulong>("hits").Value);
            Assert.Equal(5ul, loaded.Global<ulong>("total").Value);

            var result = loaded.Program("xdp_globals").TestRun(TestPrograms.Ipv4Frame(), repeat: 2);

            Assert.Equal(XdpAction.Pass, result.Action);
            Assert.Equal(2ul, loaded.Global<ulong>("hits").Value);
            Assert.Equal(7ul, loaded.Global<ulong>("total").Value);
            Assert.Equal((ushort)53, loaded.Global<ushort>("port").Value);
            Assert.True(loaded.DataSection(".bss").Map.HasBtf);
            Assert.Equal("globals.rodata", loaded.DataSection(".rodata").Map.Name);
            Assert.False(loaded.DataSection(".rodata").Map.TryUpdate(new byte[4], new byte[2], MapUpdateFlags.Any, out var errno));
            Assert.Equal(Errno.EPERM, errno);
        }

        using var blocking = BpfObjectLoader.LoadFile(path, new BpfObjectLoadOptions().WithConstant("port", (ushort)0));
        Assert.Equal(XdpAction.Drop, blocking.Program("xdp_globals").TestRun(TestPrograms.Ipv4Frame()).Action);
    }

    [KernelToolFact(Clang.Tool)]
    public void Clang_strings_in_rodata_and_rodata_str_load_as_read_only_maps()
    {
        using var dir = new TempDirectory();
        var read = ElfObjectReader.Read(Clang.Compile("strings", dir.Path));

        var literal = read.DataSections.Single(d => d.Name == ".rodata.str1.1");
        Assert.Equal(new BpfGlobalVariable(".rodata.str1.1", 0, literal.Size), Assert.Single(literal.Variables));
        Assert.Equal("xdp_strings.____fmt", Assert.Single(read.DataSections.Single(d => d.Name == ".rodata").Variables).Name);

        using var loaded = BpfObjectLoader.Load(read);

        Assert.True(loaded.Warnings.IsEmpty, string.Join("\n", loaded.Warnings));
        Assert.Equal(".rodata.str1.1", loaded.DataSection(".rodata.str1.1").Map.Name); // libbpf's name: no object prefix
        Assert.Equal("strings.rodata", loaded.DataSection(".rodata").Map.Name);
        Assert.Equal("empty\n\0"u8.ToArray(), loaded.DataSection(".rodata.str1.1").Read());
        Assert.Equal(XdpAction.Pass, loaded.Program("xdp_strings").TestRun(TestPrograms.Ipv4Frame()).Action);
    }

    [Theory]
    [InlineData("counter", ".data", "counter.data")]
    [InlineData("counter", ".rodata", "counter.rodata")]
    [InlineData("a_very_long_object_name", ".bss", "a_very_l.bss")]
    [InlineData("a_very_long_object_name", ".rodata", "a_very_l.rodata")]
    [InlineData("x", ".rodata.str1.1", ".rodata.str1.1")]
    [InlineData("x", ".data.a_long_suffix", ".data.a_long_su")]
    public void Map_names_follow_libbpf(string obj, string section, string expected) =>
        Assert.Equal(expected, GlobalData.MapName(obj, section));

    private static string[] Describe(ImmutableArray<BpfDataSection> sections) => sections
        .Select(s => $"{s.Name}: {string.Join(", ", s.Variables.Select(v => $"{v.Name}@{v.Offset}+{v.Size}"))} [{BitConverter.ToString(s.Contents.ToArray())}]")
        .ToArray();

    private static string ResolveTypedefName(BtfTypeTable types, uint id)
    {
        while (types[id] is BtfReference reference)
        {
            if (reference.ReferenceKind == BtfKind.Typedef)
                return reference.Name;
            id = reference.Type;
        }
        return types[id]?.Name ?? "";
    }
}

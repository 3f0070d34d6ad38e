using System.Collections.Immutable;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Elf;
using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime.Elf;
using XdpCompiler.TestKit;
using Xunit;
using static XdpCompiler.TestKit.Bytes;

namespace XdpCompiler.Runtime.Tests.Elf;

public class ElfObjectReaderTests
{
    [Fact]
    public void Round_trip_through_our_writer_gives_the_same_programs_and_maps()
    {
        var original = SampleObjects.Counter();

        var read = ElfObjectReader.Read(ElfObjectWriter.Write(original), "counter");

        Assert.Equal(("counter", "GPL"), (read.Name, read.License));
        AssertSamePrograms(original.Programs, read.Programs);
        var map = Assert.Single(read.Maps);
        // The writer gives a map known only by sizes BTF types of those sizes; the rest is unchanged.
        Assert.Equal(original.Maps[0], map with { KeyType = 0, ValueType = 0 });
        Assert.Equal(new BtfInt("unsigned int", 4, BtfIntEncoding.None, 32), read.Types[map.KeyType]);
        Assert.Equal(new BtfInt("unsigned long long", 8, BtfIntEncoding.None, 64), read.Types[map.ValueType]);
    }

    [Fact]
    public void Round_trip_keeps_the_initial_programs_of_a_program_array()
    {
        var jumps = new BpfMap("jumps", BpfMapType.ProgArray, 4, 4, 8) { InitialPrograms = [null, "xdp_b", "", "xdp_a"] };
        var original = SampleObjects.WithPrograms(SampleObjects.Pass("xdp_a"), SampleObjects.Pass("xdp_b")) with { Maps = [jumps] };

        var read = ElfObjectReader.Read(ElfObjectWriter.Write(original), "jumps");

        Assert.Equal(new string?[] { null, "xdp_b", null, "xdp_a" }, read.Maps.Single().InitialPrograms);
        Assert.Equal(jumps with { InitialPrograms = default }, read.Maps.Single() with { InitialPrograms = default });
    }

    [Fact]
    public void Round_trip_keeps_several_programs_per_section_type_ids_flags_and_pinning()
    {
        var types = new BtfTypeTable([
            new BtfInt("unsigned int", 4, BtfIntEncoding.None, 32),
            new BtfComposite(false, "stats", 16, [new BtfMember("packets", 3, 0), new BtfMember("bytes", 3, 64)]),
            new BtfInt("unsigned long long", 8, BtfIntEncoding.None, 64)]);
        var counter = SampleObjects.Counter().Programs[0];
        var programs = ImmutableArray.Create(
            SampleObjects.PassWithLine("first"),
            counter with { Relocations = [new BpfRelocation(3, "stats", BpfRelocationKind.Map)] },
            SampleObjects.PassWithLine("in_other_section", "xdp/devmap"),
            SampleObjects.PassWithLine("last"));
        var maps = ImmutableArray.Create(
            new BpfMap("stats", BpfMapType.Hash, 4, 16, 1024, Flags: 1, KeyType: 1, ValueType: 2, Pinning: BpfMapPinning.ByName),
            new BpfMap("ports", BpfMapType.DevMap, 4, 4, 8),
            new BpfMap("events", BpfMapType.RingBuf, 0, 0, 1u << 20));
        var original = new BpfObject("several", "Dual BSD/GPL", programs, maps, types);

        var read = ElfObjectReader.Read(ElfObjectWriter.Write(original), "several");

        // Programs come back grouped by section, in order within each section.
        AssertSamePrograms([programs[0], programs[1], programs[3], programs[2]], read.Programs);
        Assert.Equal(maps.ToArray(), read.Maps.ToArray());
        Assert.Equal("Dual BSD/GPL", read.License);
        Assert.Equal(types.Types[0], read.Types.Types[0]);
    }

    [ToolFact(Clang.Tool)]
    public void Reads_clang_counter_like_the_hand_built_one()
    {
        using var dir = new TempDirectory();

        var read = ElfObjectReader.Read(Clang.Compile("counter", dir.Path));

        Assert.Equal(("counter", "GPL"), (read.Name, read.License));
        var program = Assert.Single(read.Programs);
        Assert.Equal(("xdp_count", "xdp", true), (program.Name, program.Section, program.IsXdp));
        var relocation = Assert.Single(program.Relocations);
        Assert.Equal(("counters", BpfRelocationKind.Map), (relocation.Symbol, relocation.Kind));
        Assert.True(program.Instructions[relocation.InstructionIndex].IsLoadImm64);
        Assert.True(program.Instructions[^1].IsExit);
        var map = Assert.Single(read.Maps);
        Assert.Equal(SampleObjects.Counter().Maps[0], map with { KeyType = 0, ValueType = 0 });
        Assert.Equal("__u32", read.Types[map.KeyType]!.Name);
        Assert.Equal("__u64", read.Types[map.ValueType]!.Name);
        Assert.Equal(0, program.Lines[0].InstructionIndex);
        Assert.Contains(program.Lines, l => l.File.EndsWith("counter.c", StringComparison.Ordinal) && l.LineText.Contains("bpf_map_lookup_elem(&counters, &key)"));
        Assert.Equal(program.Lines.OrderBy(l => l.InstructionIndex).ToArray(), program.Lines.ToArray());

        // clang leaves DATASEC sizes and offsets 0 for libbpf to fill in from the ELF; the reader does the same,
        // so the model's BTF is ready for the kernel.
        var maps = read.Types.Types.OfType<BtfDataSec>().Single(d => d.Name == ".maps");
        Assert.Equal((32u, 0u, 32u), (maps.Size, maps.Vars.Single().Offset, maps.Vars.Single().Size));
        var license = read.Types.Types.OfType<BtfDataSec>().Single(d => d.Name == "license");
        Assert.Equal(4u, license.Size);
    }

    [ToolFact(Clang.Tool)]
    public void Reads_clang_objects_with_several_programs_sections_and_map_styles()
    {
        using var dir = new TempDirectory();

        var read = ElfObjectReader.Read(Clang.Compile("multi", dir.Path));

        Assert.Equal("Dual BSD/GPL", read.License);
        Assert.Equal([("xdp_first", "xdp"), ("xdp_second", "xdp"), ("xdp_frags", "xdp.frags")], read.Programs.Select(p => (p.Name, p.Section)).ToArray());
        Assert.Equal(["flows", "ports", "events"], read.Programs.Select(p => Assert.Single(p.Relocations).Symbol).ToArray());
        foreach (var program in read.Programs)
        {
            // Relocations are rebased to each program's start: the second program's first instruction loads its map.
            var relocation = program.Relocations[0];
            Assert.True(program.Instructions[relocation.InstructionIndex].IsLoadImm64, $"{program.Name}: relocation at {relocation.InstructionIndex}");
            Assert.True(program.Instructions[^1].IsExit, program.Name);
            Assert.Equal(0, program.Lines[0].InstructionIndex);
        }
        Assert.Equal(0, read.Programs[1].Relocations[0].InstructionIndex);

        var flows = read.Maps[0];
        Assert.Equal(("flows", BpfMapType.Hash, 16u, 16u, 1024u, 1u, BpfMapPinning.None),
            (flows.Name, flows.Type, flows.KeySize, flows.ValueSize, flows.MaxEntries, flows.Flags, flows.Pinning));
        Assert.Equal("flow_key", read.Types[flows.KeyType]!.Name);
        Assert.Equal("flow_stats", read.Types[flows.ValueType]!.Name);
        Assert.Equal(new BpfMap("ports", BpfMapType.DevMap, 4, 4, 8), read.Maps[1]);
        Assert.Equal(new BpfMap("events", BpfMapType.RingBuf, 0, 0, 4096), read.Maps[2]);
    }

    [ToolFact(Clang.Tool)]
    public void Reads_pinning_and_flags_from_clang_objects()
    {
        using var dir = new TempDirectory();

        var map = Assert.Single(ElfObjectReader.Read(Clang.Compile("pinned", dir.Path)).Maps);

        Assert.Equal(new BpfMap("shared_totals", BpfMapType.Array, 4, 8, 16, Flags: 0x400, Pinning: BpfMapPinning.ByName),
            map with { KeyType = 0, ValueType = 0 });
    }

    [ToolTheory(Clang.Tool)]
    [InlineData("unsupported_core", ".BTF.ext", null, "CO-RE relocations")]
    [InlineData("unsupported_legacy_maps", "maps", null, "legacy 'maps' section")]
    [InlineData("unsupported_kfunc", "xdp", "bpf_xdp_metadata_rx_timestamp", "externs are not supported yet")]
    public void Features_not_supported_yet_are_refused_by_name(string source, string section, string? symbol, string expected)
    {
        using var dir = new TempDirectory();
        var path = Clang.Compile(source, dir.Path);

        var e = Assert.Throws<BpfObjectFormatException>(() => ElfObjectReader.Read(path));

        Assert.True(e.IsNotSupported, e.Message);
        Assert.Equal((source, section, symbol), (e.ObjectName, e.Section, e.Symbol));
        Assert.Contains(expected, e.Message);
        Assert.Contains("not supported", e.Message);
    }

    [Fact]
    public void Calls_to_functions_the_object_does_not_define_are_refused_as_externs()
    {
        var call = new BpfProgram("caller", "xdp",
            [Instruction.CallLocal(1), Instruction.Exit(), Instruction.Mov64(Reg.R0, 2), Instruction.Exit()],
            [new BpfRelocation(0, "callee", BpfRelocationKind.Call)], []);
        var bytes = ElfObjectWriter.Write(new BpfObject("calls", "GPL", [call], [], new BtfTypeTable([])));

        var e = Assert.Throws<BpfObjectFormatException>(() => ElfObjectReader.Read(bytes, "calls"));

        Assert.True(e.IsNotSupported);
        Assert.Equal(("xdp", "callee"), (e.Section, e.Symbol));
    }

    public static TheoryData<string, Func<byte[], byte[]>, string> Malformed => new()
    {
        { "empty", _ => [], "not an ELF file" },
        { "text", _ => "hello, world\n"u8.ToArray(), "not an ELF file" },
        { "ELF magic only", b => b[..16], "malformed" },
        { "truncated before the section headers", b => b[..(b.Length / 2)], "malformed" },
        { "x86-64 machine", b => Patch16(b, 18, 62), "not EM_BPF (247)" },
        { "32-bit class", b => Patch8(b, 4, 1), "" },
        { "big-endian", b => Patch8(b, 5, 2), "" },
        { "executable type", b => Patch16(b, 16, 2), "relocatable" },
        { "bad BTF magic", b => Patch16(b, IndexOf(b, [0x9f, 0xeb, 1, 0, 24, 0, 0, 0]), 0x1234), "malformed BTF: BTF magic is 0x1234" },
        { "bad BTF.ext record size", b => Patch32(b, IndexOf(b, [0x9f, 0xeb, 1, 0, 32, 0, 0, 0]) + 32, 3), "malformed .BTF.ext" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_objects_raise_BpfObjectFormatException(string what, Func<byte[], byte[]> damage, string expected)
    {
        var bytes = damage(ElfObjectWriter.Write(SampleObjects.Counter()));

        var e = Assert.Throws<BpfObjectFormatException>(() => ElfObjectReader.Read(bytes, what));

        Assert.Contains(expected, e.Message);
        Assert.StartsWith($"BPF object '{what}'", e.Message);
    }

    [Fact]
    public void Every_truncation_and_random_damage_gives_BpfObjectFormatException_or_a_model()
    {
        var bytes = ElfObjectWriter.Write(SampleObjects.Counter());
        for (var length = 0; length < bytes.Length; length += 5)
            Assert.Throws<BpfObjectFormatException>(() => ElfObjectReader.Read(bytes.AsSpan(0, length), $"truncated at {length}"));

        var random = new Random(20251126);
        for (var i = 0; i < 300; i++)
        {
            var damaged = (byte[])bytes.Clone();
            for (var j = 0; j < 4; j++)
                damaged[random.Next(damaged.Length)] = (byte)random.Next(256);
            try
            {
                ElfObjectReader.Read(damaged, $"damaged {i}");
            }
            catch (BpfObjectFormatException)
            {
            }
        }
    }

    private static void AssertSamePrograms(IReadOnlyList<BpfProgram> expected, IReadOnlyList<BpfProgram> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal((expected[i].Name, expected[i].Section), (actual[i].Name, actual[i].Section));
            Assert.Equal(expected[i].Instructions.ToArray(), actual[i].Instructions.ToArray());
            Assert.Equal(expected[i].Relocations.ToArray(), actual[i].Relocations.ToArray());
            Assert.Equal(expected[i].Lines.ToArray(), actual[i].Lines.ToArray());
        }
    }

    private static int IndexOf(byte[] bytes, byte[] pattern)
    {
        var index = bytes.AsSpan().IndexOf(pattern);
        Assert.True(index >= 0, "pattern not found");
        return index;
    }
}

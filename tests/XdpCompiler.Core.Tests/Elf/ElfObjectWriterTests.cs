using System.Buffers.Binary;
using System.Collections.Immutable;
using LibObjectFile.Elf;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Elf;
using XdpCompiler.Core.Objects;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Core.Tests.Elf;

public class ElfObjectWriterTests
{
    [Fact]
    public void Header_is_elf64_little_endian_relocatable_for_bpf()
    {
        var bytes = ElfObjectWriter.Write(SampleObjects.Counter());

        Assert.Equal(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0 }, bytes[..8]);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(16))); // ET_REL
        Assert.Equal(247, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(18))); // EM_BPF
        Assert.Equal(64, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(58))); // e_shentsize
    }

    [Fact]
    public void Output_is_deterministic()
    {
        Assert.Equal(ElfObjectWriter.Write(SampleObjects.Counter()), ElfObjectWriter.Write(SampleObjects.Counter()));
    }

    [Fact]
    public void Sections_symbols_and_relocations_follow_clang_layout()
    {
        var elf = Parse(ElfObjectWriter.Write(SampleObjects.Counter()));

        Assert.Equal(
            ["", ".strtab", "xdp", ".relxdp", ".maps", "license", ".BTF", ".BTF.ext", ".symtab"],
            elf.Sections.Select(s => s.Name.Value ?? "").ToArray());
        var code = Section(elf, "xdp");
        Assert.Equal(ElfSectionFlags.Alloc | ElfSectionFlags.Executable, code.Flags);
        Assert.Equal(11 * 8, Content(code).Length);

        var symbols = elf.Sections.OfType<ElfSymbolTable>().Single().Entries;
        var function = symbols.Single(s => s.Name.Value == "xdp_count");
        Assert.Equal((ElfSymbolType.Function, ElfSymbolBind.Global, 0ul, 88ul), (function.Type, function.Bind, function.Value, function.Size));
        Assert.Same(code, function.SectionLink.Section);
        var map = symbols.Single(s => s.Name.Value == "counters");
        Assert.Equal((ElfSymbolType.Object, ElfSymbolBind.Global, 0ul, 32ul), (map.Type, map.Bind, map.Value, map.Size));
        Assert.Same(Section(elf, ".maps"), map.SectionLink.Section);
        var license = symbols.Single(s => s.Name.Value == "_license");
        Assert.Equal((ElfSymbolType.Object, ElfSymbolBind.Global, 4ul), (license.Type, license.Bind, license.Size));
        Assert.Equal("GPL\0"u8.ToArray(), Content(Section(elf, "license")));

        var relocations = elf.Sections.OfType<ElfRelocationTable>().Single();
        Assert.Same(code, relocations.Info.Section);
        var relocation = Assert.Single(relocations.Entries);
        Assert.Equal((24ul, BpfElf.RelocationLoadImm64, "counters"), (relocation.Offset, relocation.Type.Value, symbols[(int)relocation.SymbolIndex].Name.Value));
    }

    [Fact]
    public void Btf_describes_the_map_the_way_libbpf_reads_it()
    {
        var (types, _) = BtfReader.Read(Content(Section(Parse(ElfObjectWriter.Write(SampleObjects.Counter())), ".BTF")));

        var dataSec = types.Types.OfType<BtfDataSec>().Single();
        Assert.Equal((".maps", 32u), (dataSec.Name, dataSec.Size));
        var info = Assert.Single(dataSec.Vars);
        Assert.Equal((0u, 32u), (info.Offset, info.Size));
        var variable = Assert.IsType<BtfVar>(types[info.Type]);
        Assert.Equal(("counters", BtfVarLinkage.GlobalAllocated), (variable.Name, variable.Linkage));
        var definition = Assert.IsType<BtfComposite>(types[variable.Type]);
        Assert.Equal(["type", "key", "value", "max_entries"], definition.Members.Select(m => m.Name).ToArray());
        Assert.Equal([0u, 64u, 128u, 192u], definition.Members.Select(m => m.BitOffset).ToArray());
        Assert.Equal(6u, EncodedInteger(types, definition.Members[0].Type));
        Assert.Equal(4u, EncodedInteger(types, definition.Members[3].Type));
        Assert.Equal(new BtfInt("unsigned int", 4, BtfIntEncoding.None, 32), types[Pointee(types, definition.Members[1].Type)]);
        Assert.Equal(new BtfInt("unsigned long long", 8, BtfIntEncoding.None, 64), types[Pointee(types, definition.Members[2].Type)]);

        var function = types.Types.OfType<BtfFunc>().Single();
        Assert.Equal(("xdp_count", BtfFuncLinkage.Global), (function.Name, function.Linkage));
        var proto = Assert.IsType<BtfFuncProto>(types[function.Proto]);
        Assert.Equal(new BtfInt("int", 4, BtfIntEncoding.Signed, 32), types[proto.ReturnType]);
        var ctx = Assert.Single(proto.Params);
        Assert.Equal("ctx", ctx.Name);
        var xdpMd = Assert.IsType<BtfComposite>(types[Pointee(types, ctx.Type)]);
        Assert.Equal(("xdp_md", 24u), (xdpMd.Name, xdpMd.Size));
        Assert.Equal(["data", "data_end", "data_meta", "ingress_ifindex", "rx_queue_index", "egress_ifindex"], xdpMd.Members.Select(m => m.Name).ToArray());
        Assert.All(xdpMd.Members, m => Assert.Equal(4u, types.SizeOf(m.Type)));
    }

    [Fact]
    public void Btf_snapshot_of_the_counter_object()
    {
        var (types, _) = BtfReader.Read(Content(Section(Parse(ElfObjectWriter.Write(SampleObjects.Counter())), ".BTF")));
        Snapshot.Verify(BtfText.Format(types));
    }

    [Fact]
    public void Btf_ext_has_func_info_and_sorted_line_info_with_byte_offsets()
    {
        var elf = Parse(ElfObjectWriter.Write(SampleObjects.Counter()));
        var (types, strings) = BtfReader.Read(Content(Section(elf, ".BTF")));
        var ext = BtfExtInfo.Read(Content(Section(elf, ".BTF.ext")));

        var funcs = Assert.Single(ext.FuncInfo);
        Assert.Equal("xdp", strings[funcs.SectionNameOffset]);
        var func = Assert.Single(funcs.Records);
        Assert.Equal(0u, func.InstructionOffset);
        Assert.Equal("xdp_count", Assert.IsType<BtfFunc>(types[func.TypeId]).Name);

        var lines = Assert.Single(ext.LineInfo);
        Assert.Equal("xdp", strings[lines.SectionNameOffset]);
        Assert.Equal([0u, 24u, 48u, 72u], lines.Records.Select(r => r.InstructionOffset).ToArray());
        Assert.Equal([10u, 11u, 12u, 13u], lines.Records.Select(r => r.Line).ToArray());
        Assert.All(lines.Records, r => Assert.Equal(9u, r.Column));
        Assert.All(lines.Records, r => Assert.Equal("Counter.cs", strings[r.FileNameOffset]));
        Assert.Equal("return XdpAction.Pass;", strings[lines.Records[3].LineOffset]);
    }

    [Fact]
    public void Line_info_is_sorted_deduplicated_clamped_and_always_starts_the_program()
    {
        var counter = SampleObjects.Counter(ImmutableArray.Create(
            new BpfLineInfo(6, "A.cs", 30, 2000, "late"),
            new BpfLineInfo(2, "A.cs", 20, 1, "first at 2"),
            new BpfLineInfo(2, "A.cs", 21, 1, "second at 2")));

        var lines = ReadLines(counter);

        Assert.Equal([0u, 2u, 6u], lines.Select(l => l.Record.InstructionOffset / 8).ToArray());
        Assert.Equal(("first at 2", 20u), (lines[0].Text, lines[0].Record.Line)); // the start borrows the first line
        Assert.Equal("first at 2", lines[1].Text);
        Assert.Equal(1023u, lines[2].Record.Column);
    }

    [Fact]
    public void Program_without_lines_still_gets_line_info_at_its_first_instruction()
    {
        var lines = ReadLines(SampleObjects.Counter(ImmutableArray<BpfLineInfo>.Empty));

        var only = Assert.Single(lines);
        Assert.Equal((0u, "", "xdp_count"), (only.Record.InstructionOffset, only.File, only.Text));
    }

    [Fact]
    public void Programs_sharing_a_section_are_concatenated_with_their_own_symbols_and_func_info()
    {
        var obj = SampleObjects.WithPrograms(
            SampleObjects.Pass("first"), SampleObjects.Pass("other", "xdp/other"), SampleObjects.Pass("second"));

        var elf = Parse(ElfObjectWriter.Write(obj));

        Assert.Equal(["xdp", "xdp/other"], elf.Sections.Where(s => (s.Flags & ElfSectionFlags.Executable) != 0).Select(s => s.Name.Value).ToArray());
        Assert.Equal(32, Content(Section(elf, "xdp")).Length);
        var symbols = elf.Sections.OfType<ElfSymbolTable>().Single().Entries.Where(s => s.Type == ElfSymbolType.Function)
            .Select(s => (s.Name.Value, s.SectionLink.Section!.Name.Value, s.Value, s.Size)).ToArray();
        Assert.Equal([("first", "xdp", 0ul, 16ul), ("second", "xdp", 16ul, 16ul), ("other", "xdp/other", 0ul, 16ul)], symbols);
        var (types, strings) = BtfReader.Read(Content(Section(elf, ".BTF")));
        var ext = BtfExtInfo.Read(Content(Section(elf, ".BTF.ext")));
        var xdp = ext.FuncInfo.Single(s => strings[s.SectionNameOffset] == "xdp");
        Assert.Equal([(0u, "first"), (16u, "second")], xdp.Records.Select(r => (r.InstructionOffset, ((BtfFunc)types[r.TypeId]!).Name)).ToArray());
        Assert.Equal([0u, 16u], ext.LineInfo.Single(s => strings[s.SectionNameOffset] == "xdp").Records.Select(r => r.InstructionOffset).ToArray());
        Assert.DoesNotContain(elf.Sections, s => s is ElfRelocationTable);
    }

    [Fact]
    public void Given_key_and_value_types_keep_their_ids_and_equal_types_are_reused()
    {
        // The object's own types: "unsigned int", a typedef of it, and a struct value.
        var own = new BtfTypeTable(ImmutableArray.Create<BtfType>(
            new BtfInt("unsigned int", 4, BtfIntEncoding.None, 32),
            new BtfReference(BtfKind.Typedef, "__u32", 1),
            new BtfComposite(false, "stats", 16, ImmutableArray.Create(new BtfMember("packets", 4, 0), new BtfMember("bytes", 4, 64))),
            new BtfInt("unsigned long long", 8, BtfIntEncoding.None, 64)));
        var map = new BpfMap("stats", BpfMapType.Hash, 4, 16, 1024, Flags: 1, KeyType: 2, ValueType: 3, Pinning: BpfMapPinning.ByName);
        var obj = SampleObjects.WithPrograms(SampleObjects.Pass("prog")) with { Maps = [map], Types = own };

        var (types, _) = BtfReader.Read(Content(Section(Parse(ElfObjectWriter.Write(obj)), ".BTF")));

        Assert.Equal(own.Types.Take(2).Append(own.Types[3]), types.Types.Take(2).Append(types.Types[3]));
        Assert.Equal(own.Types[2].ToString(), types.Types[2].ToString());
        var definition = (BtfComposite)types[((BtfVar)types[types.Types.OfType<BtfDataSec>().Single().Vars[0].Type]!).Type]!;
        Assert.Equal(["type", "key", "value", "max_entries", "map_flags", "pinning"], definition.Members.Select(m => m.Name).ToArray());
        Assert.Equal(2u, Pointee(types, definition.Members[1].Type));
        Assert.Equal(3u, Pointee(types, definition.Members[2].Type));
        Assert.Equal(
            [(uint)BpfMapType.Hash, 1024u, 1u, (uint)BpfMapPinning.ByName],
            new[] { 0, 3, 4, 5 }.Select(i => EncodedInteger(types, definition.Members[i].Type)).ToArray());
        // xdp_md's members reuse the object's __u32 typedef rather than adding a second one.
        Assert.Single(types.Types, t => t is BtfReference { ReferenceKind: BtfKind.Typedef, Name: "__u32" });
        Assert.Single(types.Types, t => t is BtfInt { Name: "unsigned int" });
    }

    [Fact]
    public void Maps_known_only_by_size_get_types_where_the_kernel_takes_them_and_sizes_elsewhere()
    {
        var maps = ImmutableArray.Create(
            new BpfMap("flows", BpfMapType.LruHash, 16, 2, 64),         // 16-byte key: byte array; 2-byte value: u16
            new BpfMap("ports", BpfMapType.DevMap, 4, 4, 8),           // the kernel refuses BTF for devmaps
            new BpfMap("events", BpfMapType.RingBuf, 0, 0, 1u << 30)); // no key or value; 4 GiB of ints would overflow
        var obj = SampleObjects.WithPrograms(SampleObjects.Pass("prog")) with { Maps = maps };

        var (types, _) = BtfReader.Read(Content(Section(Parse(ElfObjectWriter.Write(obj)), ".BTF")));

        var definitions = types.Types.OfType<BtfDataSec>().Single().Vars
            .Select(v => (BtfComposite)types[((BtfVar)types[v.Type]!).Type]!).ToArray();
        Assert.Equal(["type", "key", "value", "max_entries"], definitions[0].Members.Select(m => m.Name).ToArray());
        Assert.Equal(new BtfArray(Find(types, new BtfInt("unsigned char", 1, BtfIntEncoding.None, 8)), Find(types, new BtfInt("__ARRAY_SIZE_TYPE__", 4, BtfIntEncoding.None, 32)), 16),
            types[Pointee(types, definitions[0].Members[1].Type)]);
        Assert.Equal(2u, types.SizeOf(Pointee(types, definitions[0].Members[2].Type)));
        Assert.Equal(["type", "key_size", "value_size", "max_entries"], definitions[1].Members.Select(m => m.Name).ToArray());
        Assert.Equal(4u, EncodedInteger(types, definitions[1].Members[1].Type));
        Assert.Equal(["type", "max_entries"], definitions[2].Members.Select(m => m.Name).ToArray());
        Assert.Equal(1u << 30, EncodedInteger(types, definitions[2].Members[1].Type));
        var bigArray = (BtfArray)types[((BtfReference)types[definitions[2].Members[1].Type]!).Type]!;
        Assert.Equal(1u, types.SizeOf(bigArray.ElementType));
        Assert.Equal([0u, 32u, 64u], types.Types.OfType<BtfDataSec>().Single().Vars.Select(v => v.Offset).ToArray());
    }

    [Fact]
    public void Program_array_initial_programs_are_a_values_array_filled_by_rel_maps_relocations()
    {
        var jumps = new BpfMap("jumps", BpfMapType.ProgArray, 4, 4, 8) { InitialPrograms = [null, "xdp_b"] };
        var obj = SampleObjects.WithPrograms(SampleObjects.Pass("xdp_a"), SampleObjects.Pass("xdp_b")) with { Maps = [jumps] };

        var elf = Parse(ElfObjectWriter.Write(obj));

        // type, key_size, value_size, max_entries: 32 bytes of definition, then two 8-byte slots.
        var symbols = elf.Sections.OfType<ElfSymbolTable>().Single().Entries;
        Assert.Equal(48ul, symbols.Single(s => s.Name.Value == "jumps").Size);
        Assert.Equal(48, Content(Section(elf, ".maps")).Length);
        var rel = elf.Sections.OfType<ElfRelocationTable>().Single(t => t.Info.Section == Section(elf, ".maps"));
        Assert.Equal(".rel.maps", rel.Name.Value);
        var relocation = Assert.Single(rel.Entries);
        Assert.Equal((40ul, BpfElf.RelocationAbs64, "xdp_b"), (relocation.Offset, relocation.Type.Value, symbols[(int)relocation.SymbolIndex].Name.Value));

        var (types, _) = BtfReader.Read(Content(Section(elf, ".BTF")));
        var variable = types.Types.OfType<BtfDataSec>().Single().Vars.Single();
        Assert.Equal(48u, variable.Size);
        var definition = (BtfComposite)types[((BtfVar)types[variable.Type]!).Type]!;
        Assert.Equal(32u, definition.Size);
        Assert.Equal(["type", "key_size", "value_size", "max_entries", "values"], definition.Members.Select(m => m.Name).ToArray());
        var values = (BtfArray)types[definition.Members[^1].Type]!;
        Assert.Equal((0u, 256u), (values.Count, definition.Members[^1].BitOffset));
        var pointer = (BtfReference)types[values.ElementType]!;
        Assert.IsType<BtfFuncProto>(types[pointer.Type]);
    }

    [Fact]
    public void Call_relocations_are_written_as_R_BPF_64_32()
    {
        var call = new BpfProgram("caller", "xdp",
            ImmutableArray.Create(Instruction.CallLocal(-1), Instruction.Mov64(Reg.R0, 2), Instruction.Exit()),
            ImmutableArray.Create(new BpfRelocation(0, "helper_fn", BpfRelocationKind.Call)), ImmutableArray<BpfLineInfo>.Empty);

        var elf = Parse(ElfObjectWriter.Write(SampleObjects.WithPrograms(call)));

        var relocation = Assert.Single(elf.Sections.OfType<ElfRelocationTable>().Single().Entries);
        var symbol = elf.Sections.OfType<ElfSymbolTable>().Single().Entries[(int)relocation.SymbolIndex];
        Assert.Equal((BpfElf.RelocationCall, "helper_fn", ElfSymbolBind.Global), (relocation.Type.Value, symbol.Name.Value, symbol.Bind));
        Assert.True(symbol.SectionLink.IsSpecial); // undefined: the callee lives elsewhere
    }

    [Fact]
    public void Text_functions_are_local_symbols_with_static_btf_and_calls_to_them_R_BPF_64_32_with_imm_minus_one()
    {
        var callee = new BpfProgram("helper_fn", ".text",
            ImmutableArray.Create(Instruction.Mov64(Reg.R0, 2), Instruction.Exit()),
            ImmutableArray<BpfRelocation>.Empty, ImmutableArray<BpfLineInfo>.Empty);
        // imm 7 in the model: the writer writes -1, which is what libbpf needs with a relocation against the callee.
        var caller = new BpfProgram("caller", "xdp",
            ImmutableArray.Create(Instruction.CallLocal(7), Instruction.Exit()),
            ImmutableArray.Create(new BpfRelocation(0, "helper_fn", BpfRelocationKind.Call)), ImmutableArray<BpfLineInfo>.Empty);

        var bytes = ElfObjectWriter.Write(SampleObjects.WithPrograms(caller, callee));
        var elf = Parse(bytes);

        Assert.Equal(["", ".strtab", ".text", "xdp", ".relxdp", "license", ".BTF", ".BTF.ext", ".symtab"],
            elf.Sections.Select(s => s.Name.Value ?? "").ToArray());
        var symtab = elf.Sections.OfType<ElfSymbolTable>().Single();
        var function = symtab.Entries.Single(s => s.Name.Value == "helper_fn");
        Assert.Equal((ElfSymbolType.Function, ElfSymbolBind.Local, 0ul, 16ul), (function.Type, function.Bind, function.Value, function.Size));
        Assert.Same(Section(elf, ".text"), function.SectionLink.Section);
        // sh_info of .symtab (the last section header): the first global, after the null symbol and the one local.
        var lastHeader = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(40)) + (elf.Sections.Count - 1) * 64;
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(lastHeader + 44)));
        Assert.All(symtab.Entries.Skip(2), s => Assert.Equal(ElfSymbolBind.Global, s.Bind));
        var relocation = Assert.Single(elf.Sections.OfType<ElfRelocationTable>().Single().Entries);
        Assert.Equal((0ul, BpfElf.RelocationCall, "helper_fn"), (relocation.Offset, relocation.Type.Value, symtab.Entries[(int)relocation.SymbolIndex].Name.Value));
        Assert.Equal(-1, Instruction.Decode(Content(Section(elf, "xdp")))[0].Imm);

        var (types, _) = BtfReader.Read(Content(Section(elf, ".BTF")));
        Assert.Contains(types.Types, t => t is BtfFunc { Name: "helper_fn", Linkage: BtfFuncLinkage.Static });
        Assert.Contains(types.Types, t => t is BtfFunc { Name: "caller", Linkage: BtfFuncLinkage.Global });
        var ext = BtfExtInfo.Read(Content(Section(elf, ".BTF.ext")));
        Assert.Equal(2, ext.FuncInfo.Length); // one block per code section, .text included
        Assert.Equal(2, ext.LineInfo.Length);
    }

    [ToolFact("llvm-readelf-19", "llvm-objdump-19")]
    public void Llvm_tools_read_text_functions_and_their_call_relocations()
    {
        using var dir = new TempDirectory();
        var path = dir.File("calls.bpf.o");
        var callee = new BpfProgram("helper_fn", ".text",
            ImmutableArray.Create(Instruction.Mov64(Reg.R0, 2), Instruction.Exit()),
            ImmutableArray<BpfRelocation>.Empty, ImmutableArray<BpfLineInfo>.Empty);
        File.WriteAllBytes(path, ElfObjectWriter.Write(SampleObjects.WithPrograms(CallInto("helper_fn"), callee)));

        var readelf = Tools.Run("llvm-readelf-19", "-a", path);
        Assert.DoesNotContain("warning", readelf.Error + readelf.Output, StringComparison.OrdinalIgnoreCase);
        Assert.Matches(@"FUNC\s+LOCAL\s+DEFAULT\s+2 helper_fn", readelf.Output);
        var objdump = Tools.Run("llvm-objdump-19", "-d", "-r", path);
        Assert.Equal("", objdump.Error);
        Assert.Contains("<helper_fn>:", objdump.Output);
        Assert.Contains("R_BPF_64_32\thelper_fn", objdump.Output);
    }

    private static BpfProgram CallInto(string callee) => new("caller", "xdp",
        ImmutableArray.Create(Instruction.CallLocal(-1), Instruction.Exit()),
        ImmutableArray.Create(new BpfRelocation(0, callee, BpfRelocationKind.Call)), ImmutableArray<BpfLineInfo>.Empty);

    public static TheoryData<string, Func<BpfObject, BpfObject>, string> InvalidObjects => new()
    {
        { "duplicate name", o => o with { Maps = [o.Maps[0] with { Name = "xdp_count" }] }, "used twice" },
        { "map name not an identifier", o => o with { Maps = [o.Maps[0] with { Name = "my-map" }] }, "C identifier" },
        { "program section starts with a dot", o => o with { Programs = [o.Programs[0] with { Section = ".rodata" }] }, "not a program section name" },
        { "call into a program section", o => o with { Programs = [CallInto("xdp_count"), o.Programs[0]] }, "libbpf calls only functions in .text" },
        { "map relocation not on ld_imm64", o => o with { Programs = [o.Programs[0] with { Relocations = [new BpfRelocation(5, "counters", BpfRelocationKind.Map)] }] }, "must point at an ld_imm64" },
        { "relocation of an unknown map", o => o with { Programs = [o.Programs[0] with { Relocations = [new BpfRelocation(3, "nope", BpfRelocationKind.Map)] }] }, "not a map of the object" },
        { "relocation on second slot", o => o with { Programs = [o.Programs[0] with { Relocations = [new BpfRelocation(4, "counters", BpfRelocationKind.Map)] }] }, "does not point at an instruction" },
        { "line on second slot", o => o with { Programs = [o.Programs[0] with { Lines = [new BpfLineInfo(4, "a.cs", 1, 1, "x")] }] }, "second half of an ld_imm64" },
        { "line outside program", o => o with { Programs = [o.Programs[0] with { Lines = [new BpfLineInfo(11, "a.cs", 1, 1, "x")] }] }, "outside the program" },
        { "key type of another size", o => o with { Types = new BtfTypeTable([new BtfInt("u8", 1, BtfIntEncoding.None, 8)]), Maps = [o.Maps[0] with { KeyType = 1 }] }, "is 1 bytes but the key size is 4" },
        { "key type id out of range", o => o with { Maps = [o.Maps[0] with { ValueType = 7 }] }, "not in the object's 0 BTF types" },
        { "no instructions", o => o with { Programs = [o.Programs[0] with { Instructions = [], Relocations = [], Lines = [] }] }, "no instructions" },
        { "NUL in license", o => o with { License = "GPL\0x" }, "license" },
        { "initial programs in a hash map", o => o with { Maps = [o.Maps[0] with { InitialPrograms = ["xdp_count"] }] }, "only a program array" },
        { "initial program unknown", o => o with { Maps = [new BpfMap("jumps", BpfMapType.ProgArray, 4, 4, 2) { InitialPrograms = ["nope"] }] }, "'nope' is not an entry program" },
        { "more initial slots than entries", o => o with { Maps = [new BpfMap("jumps", BpfMapType.ProgArray, 4, 4, 1) { InitialPrograms = [null, "xdp_count"] }] }, "max_entries is 1" },
    };

    [Theory]
    [MemberData(nameof(InvalidObjects))]
    public void Invalid_objects_are_refused_with_the_reason(string what, Func<BpfObject, BpfObject> change, string expected)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => ElfObjectWriter.Write(change(SampleObjects.Counter())));
        Assert.Contains(expected, e.Message);
        Assert.False(string.IsNullOrEmpty(what));
    }

    [Fact]
    public void Global_data_relocations_must_name_a_variable_of_the_object()
    {
        var obj = SampleObjects.Counter();
        obj = obj with { Programs = [obj.Programs[0] with { Relocations = [new BpfRelocation(3, "total", BpfRelocationKind.GlobalData)] }] };

        var e = Assert.Throws<ArgumentException>(() => ElfObjectWriter.Write(obj));
        Assert.Contains("'total', which is not a variable", e.Message);
    }

    [ToolFact("llvm-readelf-19", "llvm-objdump-19")]
    public void Llvm_tools_read_the_object_without_complaint()
    {
        using var dir = new TempDirectory();
        var path = dir.File("counter.bpf.o");
        File.WriteAllBytes(path, ElfObjectWriter.Write(SampleObjects.Counter()));

        var readelf = Tools.Run("llvm-readelf-19", "-a", path);
        Assert.DoesNotContain("warning", readelf.Error + readelf.Output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("error", readelf.Error + readelf.Output, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("EM_BPF", readelf.Output);
        Assert.Contains("R_BPF_64_64", readelf.Output);

        var objdump = Tools.Run("llvm-objdump-19", "-d", "-r", path);
        Assert.Equal("", objdump.Error);
        Assert.Contains("<xdp_count>:", objdump.Output);
        Assert.Contains("R_BPF_64_64\tcounters", objdump.Output);
        Assert.Contains("lock *(u64 *)(r0 + 0x0) += r1", objdump.Output);
    }

    [ToolFact("bpftool")]
    public void Bpftool_dumps_the_btf()
    {
        using var dir = new TempDirectory();
        var path = dir.File("counter.bpf.o");
        File.WriteAllBytes(path, ElfObjectWriter.Write(SampleObjects.Counter()));

        var dump = Tools.Run("bpftool", "btf", "dump", "file", path).Output;

        Assert.Contains("VAR 'counters' type_id=", dump);
        Assert.Contains("DATASEC '.maps' size=32 vlen=1", dump);
        Assert.Contains("STRUCT 'xdp_md' size=24 vlen=6", dump);
        Assert.Matches(@"FUNC 'xdp_count' type_id=\d+ linkage=global", dump);
        Assert.Contains("'ctx' type_id=", dump);
        var c = Tools.Run("bpftool", "btf", "dump", "file", path, "format", "c").Output;
        Assert.Contains("struct xdp_md {", c);
    }

    // ---- helpers ----

    private static List<(BtfLineInfoRecord Record, string File, string Text)> ReadLines(BpfObject obj)
    {
        var elf = Parse(ElfObjectWriter.Write(obj));
        var (_, strings) = BtfReader.Read(Content(Section(elf, ".BTF")));
        return BtfExtInfo.Read(Content(Section(elf, ".BTF.ext"))).LineInfo.Single().Records
            .Select(r => (r, strings[r.FileNameOffset], strings[r.LineOffset])).ToList();
    }

    private static uint EncodedInteger(BtfTypeTable types, uint member) =>
        ((BtfArray)types[((BtfReference)types[member]!).Type]!).Count;

    private static uint Pointee(BtfTypeTable types, uint pointer) =>
        Assert.IsType<BtfReference>(types[pointer]) is { ReferenceKind: BtfKind.Ptr } p ? p.Type : throw new Xunit.Sdk.XunitException($"type {pointer} is not a pointer");

    private static uint Find(BtfTypeTable types, BtfType type) => (uint)types.Types.IndexOf(type) + 1;

    internal static ElfFile Parse(byte[] bytes)
    {
        using var stream = new MemoryStream(bytes);
        Assert.True(ElfFile.TryRead(stream, out var elf, out var diagnostics, new ElfReaderOptions()),
            string.Join("\n", diagnostics!.Messages));
        Assert.DoesNotContain(diagnostics!.Messages, m => m.Kind == LibObjectFile.Diagnostics.DiagnosticKind.Error);
        return elf;
    }

    internal static ElfSection Section(ElfFile elf, string name) => elf.Sections.Single(s => s.Name.Value == name);

    internal static byte[] Content(ElfSection section)
    {
        var stream = Assert.IsAssignableFrom<ElfStreamSection>(section).Stream;
        stream.Position = 0;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}

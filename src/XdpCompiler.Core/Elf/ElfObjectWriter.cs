using System.Collections.Immutable;
using System.Text;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Objects;

namespace XdpCompiler.Core.Elf;

/// <summary>
/// Writes a <see cref="BpfObject"/> as an ELF64 little-endian relocatable object for <c>EM_BPF</c>, in the shape
/// libbpf 1.x (and so bpftool, xdp-loader and iproute2) expects from clang: one executable section per program
/// section, <c>.rel</c> sections, <c>license</c>, BTF-defined maps in <c>.maps</c>, global data in <c>.data</c>,
/// <c>.rodata</c> and <c>.bss</c>, libxdp run configs in <c>.xdp_run_config</c>, <c>.BTF</c> and <c>.BTF.ext</c> with
/// func and line info. The output depends only on the input, byte for byte.
/// </summary>
/// <remarks>
/// Layout: null, .strtab, <c>.text</c> (if any program is in it) and then each program section, each followed by its
/// .rel section, .maps, the data sections in the object's order, .xdp_run_config, license, .BTF, .BTF.ext, .symtab. Symbols: the null
/// symbol, the <c>.text</c> functions as locals (clang's static functions; their BTF FUNCs are static too), then
/// globals (programs, maps, global variables, run configs, <c>_license</c>, then any undefined call targets).
/// A <see cref="BpfRelocationKind.Call"/> relocation is <c>R_BPF_64_32</c> against the callee's symbol, and the call's
/// imm is written as -1 whatever the model holds, because libbpf takes the callee at the symbol's offset / 8 + imm + 1
/// (a defined callee must be in <c>.text</c>, the only place libbpf looks). A global variable is an <c>STT_OBJECT</c> symbol with
/// its offset and size, a relocation of it is <c>R_BPF_64_64</c> against that symbol with the instruction's own imm
/// as the addend (libbpf adds the two), and its BTF is a global-allocated VAR in its section's DATASEC.
/// Line info is sorted by instruction, one record per instruction (the first given wins, as the kernel demands strictly
/// increasing offsets), columns past 1023 are clamped to fit the kernel's 10-bit field, and a program without a line
/// at its first instruction gets one, because the kernel rejects func info whose functions lack it.
/// </remarks>
public static class ElfObjectWriter
{
    private const uint ShtProgBits = 1, ShtSymTab = 2, ShtStrTab = 3, ShtNoBits = 8, ShtRel = 9;
    private const ulong ShfWrite = 0x1, ShfAlloc = 0x2, ShfExecInstr = 0x4, ShfInfoLink = 0x40;
    private const byte StbLocal = 0, StbGlobal = 1, SttNoType = 0, SttObject = 1, SttFunc = 2;
    private const int ElfHeaderSize = 64, SectionHeaderSize = 64, SymbolSize = 24, RelSize = 16;

    public static byte[] Write(BpfObject obj)
    {
        if (obj is null)
            throw new ArgumentNullException(nameof(obj));
        var programs = obj.Programs.IsDefault ? ImmutableArray<BpfProgram>.Empty : obj.Programs;
        var maps = obj.Maps.IsDefault ? ImmutableArray<BpfMap>.Empty : obj.Maps;
        var types = obj.Types ?? new BtfTypeTable(ImmutableArray<BtfType>.Empty);
        var dataSections = obj.DataSections.IsDefault ? ImmutableArray<BpfDataSection>.Empty : obj.DataSections;
        Validate(obj, programs, maps, dataSections, types);

        // Programs grouped by section in order of first appearance; each starts where the previous one ends.
        // .text goes first so its functions, local symbols, come before every global one in the symbol table.
        var sections = programs.Select(p => p.Section).Distinct(StringComparer.Ordinal)
            .OrderBy(name => name == BpfElf.TextSection ? 0 : 1)
            .Select(name => new CodeSection(name, programs.Where(p => p.Section == name).ToImmutableArray()))
            .ToList();

        // BTF: the object's types, map definitions, one FUNC per program; .BTF.ext strings go in the same table.
        var btf = new ObjectBtfBuilder(types);
        var mapSizes = btf.AddMaps(maps);
        var strings = new BtfStringTable();
        var funcInfo = ImmutableArray.CreateBuilder<BtfExtSection<BtfFuncInfoRecord>>();
        var lineInfo = ImmutableArray.CreateBuilder<BtfExtSection<BtfLineInfoRecord>>();
        foreach (var section in sections)
        {
            var nameOffset = strings.Add(section.Name);
            var funcs = ImmutableArray.CreateBuilder<BtfFuncInfoRecord>();
            var lines = ImmutableArray.CreateBuilder<BtfLineInfoRecord>();
            foreach (var (program, start) in section.Programs.Zip(section.Starts, (p, s) => (p, s)))
            {
                funcs.Add(new BtfFuncInfoRecord((uint)start * Instruction.Size, btf.AddFunction(program)));
                foreach (var line in NormalizeLines(program))
                {
                    lines.Add(new BtfLineInfoRecord(
                        (uint)(start + line.InstructionIndex) * Instruction.Size,
                        strings.Add(line.File),
                        strings.Add(line.LineText),
                        BtfLineInfoRecord.Pack(
                            Math.Min((uint)line.Line, BtfLineInfoRecord.MaxLine),
                            Math.Min((uint)line.Column, BtfLineInfoRecord.MaxColumn))));
                }
            }
            funcInfo.Add(new BtfExtSection<BtfFuncInfoRecord>(nameOffset, funcs.ToImmutable()));
            lineInfo.Add(new BtfExtSection<BtfLineInfoRecord>(nameOffset, lines.ToImmutable()));
        }
        btf.AddDataSections(dataSections);
        var runConfigs = obj.RunConfigs.IsDefault ? ImmutableArray<BpfRunConfig>.Empty : obj.RunConfigs;
        var runConfigSizes = btf.AddRunConfigs(runConfigs);
        var btfBytes = BtfWriter.Write(btf.ToTable(), strings);
        var btfExtBytes = new BtfExtInfo(funcInfo.ToImmutable(), lineInfo.ToImmutable()).Write();

        // ELF sections and symbols.
        var names = new BtfStringTable(); // an ELF string table has the same shape: "" first, NUL-separated
        var elfSections = new List<ElfSection> { new("", 0, 0, Array.Empty<byte>(), 0, 0) };
        var strtab = Add(elfSections, new ElfSection(BpfElf.StringTableSection, ShtStrTab, 0, Array.Empty<byte>(), 1, 0));
        var symbols = new List<ElfSymbolEntry> { default };
        var symbolIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var pendingRelocations = new List<(ElfSection Rel, CodeSection? Code)>();
        foreach (var section in sections)
        {
            var code = Add(elfSections, new ElfSection(section.Name, ShtProgBits, ShfAlloc | ShfExecInstr, section.Encode(), 8, 0));
            for (var i = 0; i < section.Programs.Length; i++)
            {
                var program = section.Programs[i];
                symbolIndex[program.Name] = symbols.Count;
                symbols.Add(new ElfSymbolEntry(names.Add(program.Name), SttFunc, code,
                    (ulong)section.Starts[i] * Instruction.Size, (ulong)program.Instructions.Length * Instruction.Size)
                {
                    Local = section.Name == BpfElf.TextSection,
                });
            }
            if (section.Programs.Any(p => !p.Relocations.IsDefaultOrEmpty))
            {
                var rel = Add(elfSections, new ElfSection(".rel" + section.Name, ShtRel, ShfInfoLink, Array.Empty<byte>(), 8, RelSize) { InfoSection = code });
                pendingRelocations.Add((rel, section));
            }
        }
        if (maps.Length > 0)
        {
            var total = mapSizes.Aggregate(0u, (a, b) => a + b);
            var mapsSection = Add(elfSections, new ElfSection(BpfElf.MapsSection, ShtProgBits, ShfWrite | ShfAlloc, new byte[total], 8, 0));
            ulong offset = 0;
            var slotRelocations = new ByteBuffer();
            for (var i = 0; i < maps.Length; i++)
            {
                symbolIndex[maps[i].Name] = symbols.Count;
                symbols.Add(new ElfSymbolEntry(names.Add(maps[i].Name), SttObject, mapsSection, offset, mapSizes[i]));
                if (maps[i].HasInitialPrograms)
                {
                    // The slots are the definition's last 8-byte words; each set one is an R_BPF_64_ABS64 against its
                    // program's symbol, which libbpf turns into the program's fd after loading.
                    var first = offset + mapSizes[i] - (ulong)maps[i].InitialPrograms.Length * 8;
                    for (var slot = 0; slot < maps[i].InitialPrograms.Length; slot++)
                    {
                        if (maps[i].InitialPrograms[slot] is not { Length: > 0 } program)
                            continue;
                        slotRelocations.U64(first + (ulong)slot * 8);
                        slotRelocations.U64(((ulong)symbolIndex[program] << 32) | BpfElf.RelocationAbs64);
                    }
                }
                offset += mapSizes[i];
            }
            if (slotRelocations.Length > 0)
            {
                var rel = Add(elfSections, new ElfSection(".rel" + BpfElf.MapsSection, ShtRel, ShfInfoLink, slotRelocations.ToArray(), 8, RelSize) { InfoSection = mapsSection });
                pendingRelocations.Add((rel, null));
            }
        }
        foreach (var data in dataSections)
        {
            var contents = data.Contents.ToArray();
            var section = Add(elfSections, data.IsZeroFilled
                ? new ElfSection(data.Name, ShtNoBits, ShfWrite | ShfAlloc, Array.Empty<byte>(), 8, 0) { NoBitsSize = (ulong)contents.Length }
                : new ElfSection(data.Name, ShtProgBits, data.IsReadOnly ? ShfAlloc : ShfWrite | ShfAlloc, contents, 8, 0));
            foreach (var variable in data.Variables.OrderBy(v => v.Offset))
            {
                symbolIndex[variable.Name] = symbols.Count;
                symbols.Add(new ElfSymbolEntry(names.Add(variable.Name), SttObject, section, (ulong)variable.Offset, (ulong)variable.Size));
            }
        }
        AddRunConfigSection(elfSections, symbols, symbolIndex, names, runConfigs, runConfigSizes);
        var licenseBytes = Encoding.UTF8.GetBytes(obj.License + "\0");
        var license = Add(elfSections, new ElfSection(BpfElf.LicenseSection, ShtProgBits, ShfWrite | ShfAlloc, licenseBytes, 1, 0));
        symbols.Add(new ElfSymbolEntry(names.Add(BpfElf.LicenseSymbol), SttObject, license, 0, (ulong)licenseBytes.Length));
        Add(elfSections, new ElfSection(BpfElf.BtfSection, ShtProgBits, 0, btfBytes, 4, 0));
        Add(elfSections, new ElfSection(BpfElf.BtfExtSection, ShtProgBits, 0, btfExtBytes, 4, 0));

        foreach (var (rel, code) in pendingRelocations)
        {
            if (code is not null)
                rel.Data = EncodeRelocations(code, symbols, symbolIndex, names);
        }

        var symtab = Add(elfSections, new ElfSection(BpfElf.SymbolTableSection, ShtSymTab, 0, Array.Empty<byte>(), 8, SymbolSize)
        {
            LinkSection = strtab,
            Info = (uint)(1 + symbols.Count(s => s.Local)), // index of the first non-local symbol
        });
        foreach (var (rel, _) in pendingRelocations)
            rel.LinkSection = symtab;
        foreach (var section in elfSections)
            section.NameOffset = names.Add(section.Name);
        symtab.Data = EncodeSymbols(symbols);
        strtab.Data = names.ToArray();
        return Layout(elfSections);
    }

    private static ElfSection Add(List<ElfSection> sections, ElfSection section)
    {
        section.Index = sections.Count;
        sections.Add(section);
        return section;
    }

    private static void Validate(BpfObject obj, ImmutableArray<BpfProgram> programs, ImmutableArray<BpfMap> maps,
        ImmutableArray<BpfDataSection> dataSections, BtfTypeTable types)
    {
        if (obj.License is null || obj.License.IndexOf('\0') >= 0)
            throw new ArgumentException($"Object '{obj.Name}': the license must be a string without NUL characters.", nameof(obj));

        var names = new HashSet<string>(StringComparer.Ordinal) { BpfElf.LicenseSymbol };
        foreach (var map in maps)
        {
            var where = $"Object '{obj.Name}', map '{map.Name}'";
            if (!BpfElf.IsIdentifier(map.Name))
                throw new ArgumentException($"{where}: the name must be a C identifier (it becomes an ELF symbol and a BTF VAR).", nameof(obj));
            if (!names.Add(map.Name))
                throw new ArgumentException($"{where}: the name is used twice (programs, maps and '_license' share one symbol table).", nameof(obj));
            CheckMapType(where, types, map.KeyType, map.KeySize, "key");
            CheckMapType(where, types, map.ValueType, map.ValueSize, "value");
            if (!map.InitialPrograms.IsDefaultOrEmpty)
            {
                if (map.Type != BpfMapType.ProgArray)
                    throw new ArgumentException($"{where}: only a program array has initial programs.", nameof(obj));
                if (map.InitialPrograms.Length > map.MaxEntries)
                    throw new ArgumentException($"{where}: {map.InitialPrograms.Length} initial slots but max_entries is {map.MaxEntries}.", nameof(obj));
                foreach (var program in map.InitialPrograms.Where(p => !string.IsNullOrEmpty(p)))
                {
                    if (!programs.Any(p => p.Name == program && p.Section != BpfElf.TextSection))
                        throw new ArgumentException($"{where}: initial program '{program}' is not an entry program of the object (libbpf puts only those into program arrays).", nameof(obj));
                }
            }
        }

        var variables = ValidateDataSections(obj, dataSections, types, names);

        foreach (var program in programs)
        {
            var where = $"Object '{obj.Name}', program '{program.Name}'";
            if (!BpfElf.IsIdentifier(program.Name))
                throw new ArgumentException($"{where}: the name must be a C identifier (it becomes an ELF symbol and a BTF FUNC).", nameof(obj));
            if (!names.Add(program.Name))
                throw new ArgumentException($"{where}: the name is used twice (programs, maps and '_license' share one symbol table).", nameof(obj));
            if (string.IsNullOrEmpty(program.Section) || program.Section.IndexOf('\0') >= 0
                || (program.Section.StartsWith(".", StringComparison.Ordinal) && program.Section != BpfElf.TextSection))
                throw new ArgumentException($"{where}: section '{program.Section}' is not a program section name (non-empty, no NUL, not starting with '.' unless it is .text).", nameof(obj));
            if (program.Instructions.IsDefaultOrEmpty)
                throw new ArgumentException($"{where}: the program has no instructions.", nameof(obj));
            var second = SecondSlots(program.Instructions);
            foreach (var relocation in program.Relocations.IsDefault ? ImmutableArray<BpfRelocation>.Empty : program.Relocations)
                ValidateRelocation(where, program, second, relocation, maps, variables, programs);
            foreach (var line in program.Lines.IsDefault ? ImmutableArray<BpfLineInfo>.Empty : program.Lines)
            {
                if (line.InstructionIndex < 0 || line.InstructionIndex >= program.Instructions.Length)
                    throw new ArgumentException($"{where}: line info for instruction {line.InstructionIndex} is outside the program's {program.Instructions.Length} instructions.", nameof(obj));
                if (second[line.InstructionIndex])
                    throw new ArgumentException($"{where}: line info for instruction {line.InstructionIndex} points at the second half of an ld_imm64, which the kernel refuses.", nameof(obj));
                if (line.Line < 0 || line.Column < 0)
                    throw new ArgumentException($"{where}: line info for instruction {line.InstructionIndex} has a negative line or column ({line.Line}:{line.Column}).", nameof(obj));
                if (line.File is null || line.LineText is null)
                    throw new ArgumentException($"{where}: line info for instruction {line.InstructionIndex} has no file name or line text (use \"\").", nameof(obj));
            }
        }

        if (types.Types.Any(t => t is BtfDataSec { Name: BpfElf.MapsSection }))
            throw new ArgumentException($"Object '{obj.Name}': Types already contains a DATASEC '.maps'; the writer builds it from Maps.", nameof(obj));
        ValidateRunConfigs(obj, programs, types, names);
    }

    /// <summary>
    /// What libxdp needs to find a run config: it belongs to an XDP program that is attached to an interface (not a
    /// .text subprogram, not a devmap/cpumap program, which never run in a dispatcher), one per program, with only
    /// the five XDP actions in its bitmap, and its <c>_program</c> symbol free.
    /// </summary>
    private static void ValidateRunConfigs(BpfObject obj, ImmutableArray<BpfProgram> programs, BtfTypeTable types, HashSet<string> names)
    {
        var configs = obj.RunConfigs.IsDefault ? ImmutableArray<BpfRunConfig>.Empty : obj.RunConfigs;
        var configured = new HashSet<string>(StringComparer.Ordinal);
        foreach (var config in configs)
        {
            var where = $"Object '{obj.Name}', run config of '{config?.Program}'";
            if (config?.Program is null || programs.FirstOrDefault(p => p.Name == config.Program) is not { } program)
                throw new ArgumentException($"{where}: the object has no such program.", nameof(obj));
            if (!program.IsXdp || program.Section is "xdp/devmap" or "xdp/cpumap" || program.Section.StartsWith("xdp/devmap/", StringComparison.Ordinal)
                || program.Section.StartsWith("xdp/cpumap/", StringComparison.Ordinal))
                throw new ArgumentException($"{where}: the program is in section '{program.Section}'; only programs attached to an interface run in libxdp's dispatcher.", nameof(obj));
            if (!configured.Add(config.Program))
                throw new ArgumentException($"{where}: the program has two run configs.", nameof(obj));
            if ((config.ChainCallActions & ~BpfRunConfig.AllActions) != 0)
                throw new ArgumentException($"{where}: chain-call bitmap 0x{config.ChainCallActions:x} has bits beyond the five XDP actions (0x{BpfRunConfig.AllActions:x}).", nameof(obj));
            if (!names.Add(config.SymbolName))
                throw new ArgumentException($"{where}: its symbol '{config.SymbolName}' is already a program, map or variable name.", nameof(obj));
        }
        if (types.Types.Any(t => t is BtfDataSec { Name: BpfElf.RunConfigSection }))
            throw new ArgumentException($"Object '{obj.Name}': Types already contains a DATASEC '{BpfElf.RunConfigSection}'; the writer builds it from RunConfigs.", nameof(obj));
    }

    /// <summary>
    /// <c>.xdp_run_config</c> as clang writes <c>XDP_RUN_CONFIG</c>: writable allocated data (all zeros: libxdp reads
    /// only the BTF) with a global object symbol per config. libbpf skips the section as data it does not know.
    /// </summary>
    private static void AddRunConfigSection(List<ElfSection> elfSections, List<ElfSymbolEntry> symbols, Dictionary<string, int> symbolIndex,
        BtfStringTable names, ImmutableArray<BpfRunConfig> configs, ImmutableArray<uint> sizes)
    {
        if (configs.Length == 0)
            return;
        var total = sizes.Aggregate(0u, (a, b) => a + b);
        var section = Add(elfSections, new ElfSection(BpfElf.RunConfigSection, ShtProgBits, ShfWrite | ShfAlloc, new byte[total], 8, 0));
        ulong offset = 0;
        for (var i = 0; i < configs.Length; i++)
        {
            symbolIndex[configs[i].SymbolName] = symbols.Count;
            symbols.Add(new ElfSymbolEntry(names.Add(configs[i].SymbolName), SttObject, section, offset, sizes[i]));
            offset += sizes[i];
        }
    }

    /// <summary>
    /// The rules libbpf and the kernel apply to global data: a section named <c>.data*</c>, <c>.rodata*</c> or
    /// <c>.bss*</c> (libbpf's internal maps), not empty (its map's value size), <c>.bss</c> all zeros (it is NOBITS);
    /// variables with identifier names (ELF symbols and BTF VARs), inside the section, not overlapping (the kernel's
    /// DATASEC check), with a BTF type of their size when they name one. Returns the variables' names.
    /// </summary>
    private static HashSet<string> ValidateDataSections(BpfObject obj, ImmutableArray<BpfDataSection> dataSections, BtfTypeTable types, HashSet<string> names)
    {
        var variables = new HashSet<string>(StringComparer.Ordinal);
        var sectionNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var data in dataSections)
        {
            var where = $"Object '{obj.Name}', data section '{data?.Name}'";
            if (data is null || data.Name is null || !BpfElf.IsDataSection(data.Name) || data.Name.IndexOf('\0') >= 0)
                throw new ArgumentException($"{where}: the name must start with .data, .rodata or .bss (libbpf makes only those into global-data maps).", nameof(obj));
            if (!sectionNames.Add(data.Name))
                throw new ArgumentException($"{where}: the section is given twice.", nameof(obj));
            if (data.Contents.IsDefaultOrEmpty)
                throw new ArgumentException($"{where}: the section is empty; the kernel refuses a map with a 0-byte value, so leave the section out.", nameof(obj));
            if (data.IsZeroFilled && data.Contents.Any(b => b != 0))
                throw new ArgumentException($"{where}: a .bss section is NOBITS, so its contents must be all zeros; put initialised variables in .data.", nameof(obj));
            if (types.Types.Any(t => t is BtfDataSec d && d.Name == data.Name))
                throw new ArgumentException($"{where}: Types already contains a DATASEC '{data.Name}'; the writer builds it from DataSections.", nameof(obj));
            var end = 0;
            foreach (var variable in (data.Variables.IsDefault ? ImmutableArray<BpfGlobalVariable>.Empty : data.Variables).OrderBy(v => v.Offset))
            {
                var at = $"{where}, variable '{variable.Name}'";
                if (!BpfElf.IsIdentifier(variable.Name))
                    throw new ArgumentException($"{at}: the name must be a C identifier (it becomes an ELF symbol and a BTF VAR).", nameof(obj));
                if (!names.Add(variable.Name))
                    throw new ArgumentException($"{at}: the name is used twice (programs, maps, variables and '_license' share one symbol table).", nameof(obj));
                if (variable.Size <= 0 || variable.Offset < 0 || variable.Offset > data.Size - variable.Size)
                    throw new ArgumentException($"{at}: [{variable.Offset}, +{variable.Size}) is not a non-empty range inside the {data.Size}-byte section.", nameof(obj));
                if (variable.Offset < end)
                    throw new ArgumentException($"{at}: at offset {variable.Offset} it overlaps the previous variable, which ends at {end} (the kernel refuses overlapping DATASEC entries).", nameof(obj));
                end = variable.Offset + variable.Size;
                if (variable.Type != 0)
                    CheckMapType(at, types, variable.Type, (uint)variable.Size, "variable");
                variables.Add(variable.Name);
            }
        }
        return variables;
    }

    private static void CheckMapType(string where, BtfTypeTable types, uint type, uint size, string what)
    {
        if (type == 0)
            return;
        if (type > types.Types.Length)
            throw new ArgumentException($"{where}: the {what} type id {type} is not in the object's {types.Types.Length} BTF types.");
        uint actual;
        try
        {
            actual = types.SizeOf(type);
        }
        catch (InvalidOperationException e)
        {
            throw new ArgumentException($"{where}: the {what} type {type} has no size: {e.Message}", e);
        }
        if (actual != size)
            throw new ArgumentException($"{where}: the {what} type {type} is {actual} bytes but the {what} size is {size}.");
    }

    private static void ValidateRelocation(string where, BpfProgram program, bool[] second, BpfRelocation relocation,
        ImmutableArray<BpfMap> maps, HashSet<string> variables, ImmutableArray<BpfProgram> programs)
    {
        var index = relocation.InstructionIndex;
        if (index < 0 || index >= program.Instructions.Length || second[index])
            throw new ArgumentException($"{where}: relocation of '{relocation.Symbol}' at instruction {index} does not point at an instruction of the program.");
        var instruction = program.Instructions[index];
        switch (relocation.Kind)
        {
            case BpfRelocationKind.Map:
                if (!instruction.IsLoadImm64 || index + 1 >= program.Instructions.Length)
                    throw new ArgumentException($"{where}: map relocation of '{relocation.Symbol}' at instruction {index} must point at an ld_imm64, not {instruction}.");
                if (!maps.Any(m => m.Name == relocation.Symbol))
                    throw new ArgumentException($"{where}: map relocation at instruction {index} names '{relocation.Symbol}', which is not a map of the object.");
                break;
            case BpfRelocationKind.Call:
                if (!instruction.IsCall || instruction.Src != 1)
                    throw new ArgumentException($"{where}: call relocation of '{relocation.Symbol}' at instruction {index} must point at a BPF-to-BPF call (src = 1), not {instruction}.");
                if (!BpfElf.IsIdentifier(relocation.Symbol) || maps.Any(m => m.Name == relocation.Symbol) || relocation.Symbol == BpfElf.LicenseSymbol)
                    throw new ArgumentException($"{where}: call relocation at instruction {index} names '{relocation.Symbol}', which is not a function name.");
                if (programs.FirstOrDefault(p => p.Name == relocation.Symbol) is { } callee && callee.Section != BpfElf.TextSection)
                    throw new ArgumentException($"{where}: call relocation at instruction {index} calls '{relocation.Symbol}' in section '{callee.Section}'; libbpf calls only functions in .text, so put the callee there.");
                break;
            case BpfRelocationKind.GlobalData:
                if (!instruction.IsLoadImm64 || index + 1 >= program.Instructions.Length)
                    throw new ArgumentException($"{where}: global data relocation of '{relocation.Symbol}' at instruction {index} must point at an ld_imm64, not {instruction}.");
                if (!variables.Contains(relocation.Symbol))
                    throw new ArgumentException($"{where}: global data relocation at instruction {index} names '{relocation.Symbol}', which is not a variable of the object's data sections.");
                break;
            default:
                throw new ArgumentException($"{where}: unknown relocation kind {relocation.Kind} at instruction {index}.");
        }
    }

    /// <summary>Marks the second slot of every <c>ld_imm64</c>: not an instruction of its own.</summary>
    private static bool[] SecondSlots(ImmutableArray<Instruction> instructions)
    {
        var second = new bool[instructions.Length];
        for (var i = 0; i < instructions.Length; i++)
        {
            if (!second[i] && instructions[i].IsLoadImm64 && i + 1 < instructions.Length)
                second[i + 1] = true;
        }
        return second;
    }

    private static List<BpfLineInfo> NormalizeLines(BpfProgram program)
    {
        var given = program.Lines.IsDefault ? ImmutableArray<BpfLineInfo>.Empty : program.Lines;
        var lines = new List<BpfLineInfo>();
        foreach (var line in given.OrderBy(l => l.InstructionIndex)) // stable: the first given per instruction wins
        {
            if (lines.Count == 0 || lines[lines.Count - 1].InstructionIndex != line.InstructionIndex)
                lines.Add(line);
        }
        if (lines.Count == 0)
            lines.Add(new BpfLineInfo(0, "", 0, 0, program.Name));
        else if (lines[0].InstructionIndex != 0)
            lines.Insert(0, lines[0] with { InstructionIndex = 0 });
        return lines;
    }

    private static byte[] EncodeRelocations(CodeSection section, List<ElfSymbolEntry> symbols, Dictionary<string, int> symbolIndex, BtfStringTable names)
    {
        var entries = new List<(ulong Offset, ulong Info)>();
        for (var p = 0; p < section.Programs.Length; p++)
        {
            var program = section.Programs[p];
            if (program.Relocations.IsDefaultOrEmpty)
                continue;
            foreach (var relocation in program.Relocations)
            {
                if (!symbolIndex.TryGetValue(relocation.Symbol, out var symbol))
                {
                    // A call to a function this object does not define: an undefined global the linker or loader resolves.
                    symbol = symbols.Count;
                    symbolIndex[relocation.Symbol] = symbol;
                    symbols.Add(new ElfSymbolEntry(names.Add(relocation.Symbol), SttNoType, null, 0, 0));
                }
                var type = relocation.Kind == BpfRelocationKind.Call ? BpfElf.RelocationCall : BpfElf.RelocationLoadImm64;
                entries.Add(((ulong)(section.Starts[p] + relocation.InstructionIndex) * Instruction.Size, ((ulong)symbol << 32) | type));
            }
        }
        entries.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        var bytes = new ByteBuffer();
        foreach (var (offset, info) in entries)
        {
            bytes.U64(offset);
            bytes.U64(info);
        }
        return bytes.ToArray();
    }

    private static byte[] EncodeSymbols(List<ElfSymbolEntry> symbols)
    {
        var bytes = new ByteBuffer();
        foreach (var symbol in symbols)
        {
            bytes.U32(symbol.NameOffset);
            bytes.U8(symbol.NameOffset == 0 && symbol.Section is null ? (byte)0 : (byte)(((symbol.Local ? StbLocal : StbGlobal) << 4) | symbol.Type));
            bytes.U8(0); // STV_DEFAULT
            bytes.U16((ushort)(symbol.Section?.Index ?? 0));
            bytes.U64(symbol.Value);
            bytes.U64(symbol.Size);
        }
        return bytes.ToArray();
    }

    private static byte[] Layout(List<ElfSection> sections)
    {
        var file = new ByteBuffer();
        file.Zeros(ElfHeaderSize);
        var offsets = new ulong[sections.Count];
        for (var i = 1; i < sections.Count; i++)
        {
            file.Align((int)Math.Max(1, sections[i].Alignment));
            offsets[i] = (ulong)file.Length;
            if (sections[i].NoBitsSize is null)
                file.Bytes(sections[i].Data);
        }
        file.Align(8);
        var sectionHeaders = (ulong)file.Length;
        foreach (var (section, i) in sections.Select((s, i) => (s, i)))
        {
            file.U32(section.NameOffset);
            file.U32(section.Type);
            file.U64(section.Flags);
            file.U64(0); // sh_addr: relocatable objects are not placed
            file.U64(offsets[i]);
            file.U64(section.NoBitsSize ?? (ulong)section.Data.Length);
            file.U32((uint)(section.LinkSection?.Index ?? 0));
            file.U32(section.InfoSection is { } info ? (uint)info.Index : section.Info);
            file.U64(section.Alignment);
            file.U64(section.EntrySize);
        }

        var result = file.ToArray();
        var header = new ByteBuffer();
        header.Bytes([0x7f, (byte)'E', (byte)'L', (byte)'F', 2 /* ELFCLASS64 */, 1 /* ELFDATA2LSB */, 1 /* EV_CURRENT */, 0 /* ELFOSABI_NONE */]);
        header.Zeros(8);
        header.U16(BpfElf.TypeRelocatable);
        header.U16(BpfElf.MachineBpf);
        header.U32(1); // e_version
        header.U64(0); // e_entry
        header.U64(0); // e_phoff
        header.U64(sectionHeaders);
        header.U32(0); // e_flags
        header.U16(ElfHeaderSize);
        header.U16(0); // e_phentsize
        header.U16(0); // e_phnum
        header.U16(SectionHeaderSize);
        header.U16((ushort)sections.Count);
        header.U16(1); // e_shstrndx: .strtab holds section names too, as clang's output does
        header.ToArray().CopyTo(result, 0);
        return result;
    }

    private sealed class CodeSection
    {
        public CodeSection(string name, ImmutableArray<BpfProgram> programs)
        {
            Name = name;
            Programs = programs;
            var starts = ImmutableArray.CreateBuilder<int>(programs.Length);
            var next = 0;
            foreach (var program in programs)
            {
                starts.Add(next);
                next += program.Instructions.Length;
            }
            Starts = starts.MoveToImmutable();
        }

        public string Name { get; }

        public ImmutableArray<BpfProgram> Programs { get; }

        /// <summary>Instruction index of each program within the section.</summary>
        public ImmutableArray<int> Starts { get; }

        public byte[] Encode() => Instruction.Encode(Programs.SelectMany(CallsWithLibbpfImm).ToArray());

        private static IEnumerable<Instruction> CallsWithLibbpfImm(BpfProgram program)
        {
            var calls = new HashSet<int>((program.Relocations.IsDefault ? ImmutableArray<BpfRelocation>.Empty : program.Relocations)
                .Where(r => r.Kind == BpfRelocationKind.Call).Select(r => r.InstructionIndex));
            return program.Instructions.Select((instruction, i) => calls.Contains(i) ? instruction with { Imm = -1 } : instruction);
        }
    }

    private sealed class ElfSection(string name, uint type, ulong flags, byte[] data, ulong alignment, ulong entrySize)
    {
        public string Name { get; } = name;
        public uint Type { get; } = type;
        public ulong Flags { get; } = flags;
        public byte[] Data { get; set; } = data;
        public ulong Alignment { get; } = alignment;
        public ulong EntrySize { get; } = entrySize;
        /// <summary>Set for SHT_NOBITS: the section's size, which takes no room in the file.</summary>
        public ulong? NoBitsSize { get; init; }
        public int Index { get; set; }
        public uint NameOffset { get; set; }
        public ElfSection? LinkSection { get; set; }
        public ElfSection? InfoSection { get; set; }
        public uint Info { get; set; }
    }

    private readonly record struct ElfSymbolEntry(uint NameOffset, byte Type, ElfSection? Section, ulong Value, ulong Size)
    {
        public bool Local { get; init; }
    }

    /// <summary>A growable little-endian byte buffer.</summary>
    private sealed class ByteBuffer
    {
        private byte[] _bytes = new byte[256];

        public int Length { get; private set; }

        public void U8(byte value)
        {
            Ensure(1);
            _bytes[Length++] = value;
        }

        public void U16(ushort value)
        {
            U8((byte)value);
            U8((byte)(value >> 8));
        }

        public void U32(uint value)
        {
            U16((ushort)value);
            U16((ushort)(value >> 16));
        }

        public void U64(ulong value)
        {
            U32((uint)value);
            U32((uint)(value >> 32));
        }

        public void Bytes(byte[] value)
        {
            Ensure(value.Length);
            value.CopyTo(_bytes, Length);
            Length += value.Length;
        }

        public void Zeros(int count)
        {
            Ensure(count);
            Length += count; // the buffer is zero-filled and never reused
        }

        public void Align(int alignment) => Zeros((alignment - Length % alignment) % alignment);

        public byte[] ToArray()
        {
            var result = new byte[Length];
            Array.Copy(_bytes, result, Length);
            return result;
        }

        private void Ensure(int extra)
        {
            if (Length + extra <= _bytes.Length)
                return;
            Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, Length + extra));
        }
    }
}

using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Text;
using LibObjectFile.Elf;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Elf;
using XdpCompiler.Core.Objects;

namespace XdpCompiler.Runtime.Elf;

/// <summary>
/// Reads a BPF ELF relocatable object — ours or clang's — into the <see cref="BpfObject"/> model, with LibObjectFile
/// doing the ELF parsing. It accepts what the model can express (entry programs, BTF-defined maps, global data in
/// <c>.data*</c>/<c>.rodata*</c>/<c>.bss*</c>, license, BTF, line info, BPF-to-BPF calls into <c>.text</c>) and
/// refuses the rest with <see cref="BpfObjectFormatException"/>: function references (callbacks), legacy <c>maps</c>,
/// externs (kfuncs, ksyms,
/// <c>.kconfig</c>), references to data outside every variable, CO-RE relocations, map-in-map
/// initialisers. Program-array initialisers (a <c>values</c> member and <c>.rel.maps</c> relocations to entry programs)
/// become <see cref="BpfMap.InitialPrograms"/>. It never returns a partial model.
/// </summary>
/// <remarks>
/// Each function symbol in <c>.text</c> (clang's <c>static __noinline</c> functions) becomes a
/// <see cref="BpfProgram"/> of section <c>.text</c>, which the loader appends to the entry programs that call it. Every
/// BPF-to-BPF call (<c>call</c> with src = 1) gets a <see cref="BpfRelocationKind.Call"/> relocation naming its callee
/// and imm = -1, however clang encoded it: R_BPF_64_32 against the function's symbol, R_BPF_64_32 against the
/// <c>.text</c> section symbol with the target in imm, or no relocation and a pc-relative imm inside <c>.text</c>.
/// In each case the target is libbpf's: the symbol's offset / 8 + imm + 1 (the call's own index for pc-relative calls).
/// </remarks>
public static class ElfObjectReader
{
    /// <summary>Reads the object at <paramref name="path"/>, named after the file (without <c>.o</c> / <c>.bpf.o</c>).</summary>
    public static BpfObject Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var name = Path.GetFileName(path);
        foreach (var suffix in new[] { ".o", ".bpf" })
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal) && name.Length > suffix.Length)
                name = name.Substring(0, name.Length - suffix.Length);
        }
        return Read(bytes, name);
    }

    public static BpfObject Read(ReadOnlySpan<byte> elf, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        try
        {
            return new Parser(elf.ToArray(), name).Parse();
        }
        catch (BpfObjectFormatException)
        {
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // LibObjectFile and span slicing report damage as whatever exception they hit first; callers get one type.
            throw new BpfObjectFormatException(name, $"malformed object ({e.GetType().Name}: {e.Message})", inner: e);
        }
    }

    private sealed class Parser(byte[] bytes, string name)
    {
        private ElfFile _elf = null!;
        private ElfSymbolTable _symbols = null!;
        private BtfTypeTable _types = new(ImmutableArray<BtfType>.Empty);
        private BtfStrings _strings = new([]);
        private readonly Dictionary<ElfSection, byte[]> _contents = new();

        public BpfObject Parse()
        {
            LoadElf();
            var sections = ClassifySections();
            if (sections.Btf is { } btf)
            {
                try
                {
                    (_types, _strings) = BtfReader.Read(Content(btf));
                }
                catch (FormatException e)
                {
                    throw Error($"malformed BTF: {e.Message}", BpfElf.BtfSection, inner: e);
                }
            }

            FixDataSections();
            var maps = sections.Maps is { } mapsSection ? ReadMaps(mapsSection, sections.Btf is not null) : ImmutableArray<BpfMap>.Empty;
            var dataSections = ReadDataSections(sections);
            var programs = ReadPrograms(sections);
            maps = ReadMapSlots(maps, sections, programs);
            programs = ApplyLineInfo(programs, sections);
            var license = sections.License is { } licenseSection ? ReadLicense(licenseSection) : "";
            var entryPrograms = programs.Select(p => p.ToProgram()).ToImmutableArray();
            return new BpfObject(name, license, entryPrograms, maps, _types)
            {
                DataSections = dataSections,
                RunConfigs = ReadRunConfigs(entryPrograms),
            };
        }

        private void LoadElf()
        {
            if (bytes.Length < 4 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
                throw Error($"not an ELF file ({bytes.Length} bytes without the \\x7fELF magic).");
            CheckBounds();
            using var stream = new MemoryStream(bytes, writable: false);
            if (!ElfFile.TryRead(stream, out var elf, out var diagnostics, new ElfReaderOptions()))
            {
                var messages = string.Join("; ", diagnostics.Messages.Where(m => m.Kind == LibObjectFile.Diagnostics.DiagnosticKind.Error).Select(m => m.Message));
                throw Error($"malformed ELF: {messages}");
            }
            if (elf.FileClass != ElfFileClass.Is64)
                throw Error($"ELF class is {elf.FileClass}; BPF objects are 64-bit.");
            if (elf.Encoding != ElfEncoding.Lsb)
                throw Error($"ELF data encoding is {elf.Encoding}; only little-endian BPF objects are supported.");
            if ((uint)elf.Arch != BpfElf.MachineBpf)
                throw Error($"ELF machine is {elf.Arch} ({(uint)elf.Arch}), not EM_BPF ({BpfElf.MachineBpf}).");
            if (elf.FileType != ElfFileType.Relocatable)
                throw Error($"ELF type is {elf.FileType}; BPF objects are relocatable (ET_REL).");
            _elf = elf;

            var symbolTables = elf.Sections.OfType<ElfSymbolTable>().Where(s => s.Type == ElfSectionType.SymbolTable).ToList();
            if (symbolTables.Count != 1)
                throw Error(symbolTables.Count == 0
                    ? "no symbol table (.symtab); a stripped object cannot be loaded."
                    : $"{symbolTables.Count} symbol tables; a BPF object has exactly one.");
            _symbols = symbolTables[0];
        }

        /// <summary>
        /// Bounds of the header and section table, checked before LibObjectFile sees them: it sizes its tables from
        /// sh_size / sh_entsize without comparing them to the file, so a damaged header would make it allocate
        /// gigabytes. Only sizes are checked here; LibObjectFile does the parsing.
        /// </summary>
        private void CheckBounds()
        {
            const int headerSize = 64, sectionHeaderSize = 64;
            if (bytes.Length < headerSize)
                throw Error($"malformed ELF: {bytes.Length} bytes, shorter than the 64-byte ELF64 header.");
            if (bytes[4] != 2)
                throw Error($"ELF class is {bytes[4]} (1 = 32-bit); BPF objects are 64-bit (ELFCLASS64).");
            if (bytes[5] != 1)
                throw Error($"ELF data encoding is {bytes[5]} (2 = big-endian); only little-endian BPF objects are supported.");
            var span = bytes.AsSpan();
            var tableOffset = BinaryPrimitives.ReadUInt64LittleEndian(span[40..]);
            var entrySize = BinaryPrimitives.ReadUInt16LittleEndian(span[58..]);
            var count = BinaryPrimitives.ReadUInt16LittleEndian(span[60..]);
            if (count == 0)
                throw Error("malformed ELF: no section headers.");
            if (entrySize != sectionHeaderSize)
                throw Error($"malformed ELF: section header size is {entrySize}, not {sectionHeaderSize}.");
            if (tableOffset > (ulong)bytes.Length || (ulong)count * sectionHeaderSize > (ulong)bytes.Length - tableOffset)
                throw Error($"malformed ELF: {count} section headers at offset {tableOffset} run past the end of the {bytes.Length}-byte file.");
            for (var i = 0; i < count; i++)
            {
                var header = span.Slice((int)tableOffset + i * sectionHeaderSize, sectionHeaderSize);
                var type = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
                var offset = BinaryPrimitives.ReadUInt64LittleEndian(header[24..]);
                var size = BinaryPrimitives.ReadUInt64LittleEndian(header[32..]);
                var tableEntry = BinaryPrimitives.ReadUInt64LittleEndian(header[56..]);
                const uint noBits = 8, symbolTable = 2, dynamicSymbols = 11, rel = 9, rela = 4;
                if (type != noBits && (offset > (ulong)bytes.Length || size > (ulong)bytes.Length - offset))
                    throw Error($"malformed ELF: section {i} [{offset}, +{size}) runs past the end of the {bytes.Length}-byte file.");
                var expectedEntry = type switch { symbolTable or dynamicSymbols => 24ul, rel => 16ul, rela => 24ul, _ => 0ul };
                if (expectedEntry != 0 && tableEntry != expectedEntry)
                    throw Error($"malformed ELF: section {i} (type {type}) has entry size {tableEntry}, expected {expectedEntry}.");
            }
        }

        private sealed record Sections(
            List<ElfSection> Programs, ElfSection? Maps, ElfSection? License, ElfSection? Btf, ElfSection? BtfExt, ElfSection? Text,
            List<ElfSection> Data);

        private Sections ClassifySections()
        {
            var programs = new List<ElfSection>();
            var data = new List<ElfSection>();
            ElfSection? maps = null, license = null, btf = null, btfExt = null, text = null;
            foreach (var section in _elf.Sections)
            {
                var sectionName = SectionName(section);
                var executable = (section.Flags & ElfSectionFlags.Executable) != 0;
                if (executable && section.Type == ElfSectionType.ProgBits)
                {
                    // .text holds the subprograms; it is read like a program section, and the loader links its
                    // functions into the entry programs that call them.
                    if (sectionName == BpfElf.TextSection)
                        text = section;
                    programs.Add(section);
                    continue;
                }
                switch (sectionName)
                {
                    case BpfElf.MapsSection:
                        maps = section;
                        break;
                    case BpfElf.LicenseSection:
                        license = section;
                        break;
                    case BpfElf.BtfSection:
                        btf = section;
                        break;
                    case BpfElf.BtfExtSection:
                        btfExt = section;
                        break;
                    case BpfElf.LegacyMapsSection:
                        throw NotSupported("the legacy 'maps' section (struct bpf_map_def) is not supported (libbpf 1.0 refuses it too); declare BTF-defined maps in SEC(\".maps\").", sectionName);
                    case ".kconfig" or ".ksyms":
                        if (section.Size > 0)
                            throw NotSupported("extern variables (.kconfig, .ksyms) are not supported yet.", sectionName);
                        break;
                    default:
                        if (BpfElf.IsDataSection(sectionName) && section.Type is ElfSectionType.ProgBits or ElfSectionType.NoBits
                            && (section.Flags & ElfSectionFlags.Alloc) != 0)
                            data.Add(section);
                        break; // debug info, relocation tables, string tables, unknown annotations: nothing the model holds
                }
            }
            return new Sections(programs, maps, license, btf, btfExt, text, data);
        }

        // ---- global data ----

        private readonly Dictionary<ElfSection, BpfDataSection> _dataSections = new();

        /// <summary>
        /// Each non-empty data section with its bytes (zeros for NOBITS) and its variables: from the BTF DATASEC of the
        /// same name when there is one (after <see cref="FixDataSections"/> it has the ELF's offsets, and it names
        /// static variables too), else from the section's object symbols. A section with neither (clang's string
        /// literals in <c>.rodata.str1.1</c>) is one variable named after the section, covering all of it, so the
        /// relocations into it can name something. Empty sections get no map in libbpf either.
        /// </summary>
        private ImmutableArray<BpfDataSection> ReadDataSections(Sections sections)
        {
            var result = ImmutableArray.CreateBuilder<BpfDataSection>();
            var names = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var section in sections.Data)
            {
                var sectionName = SectionName(section);
                var contents = Content(section);
                if (contents.Length == 0)
                    continue;
                var variables = new List<BpfGlobalVariable>();
                if (_types.Types.OfType<BtfDataSec>().FirstOrDefault(d => d.Name == sectionName) is { } dataSec)
                {
                    foreach (var info in dataSec.Vars)
                    {
                        if (_types[info.Type] is not BtfVar variable)
                            throw Error($"BTF DATASEC '{sectionName}' has an entry of type {info.Type}, not a VAR.", BpfElf.BtfSection);
                        variables.Add(new BpfGlobalVariable(variable.Name, (int)info.Offset, (int)info.Size, variable.Type));
                    }
                }
                else
                {
                    foreach (var (symbol, _) in SymbolsIn(section).Where(s => s.Symbol.Type == ElfSymbolType.Object && s.Symbol.Size > 0).OrderBy(s => s.Symbol.Value))
                        variables.Add(new BpfGlobalVariable(symbol.Name.Value ?? "", (int)symbol.Value, (int)symbol.Size));
                }
                if (variables.Count == 0)
                    variables.Add(new BpfGlobalVariable(sectionName, 0, contents.Length));
                foreach (var variable in variables)
                {
                    if (variable.Offset < 0 || variable.Size <= 0 || variable.Offset > contents.Length - variable.Size)
                        throw Error($"variable [{variable.Offset}, +{variable.Size}) is not inside the {contents.Length}-byte section.", sectionName, variable.Name);
                    if (names.TryGetValue(variable.Name, out var other))
                        throw NotSupported($"the variable name is also used in {other}; variables with the same name in two data sections are not supported yet.", sectionName, variable.Name);
                    names.Add(variable.Name, sectionName);
                }
                var data = new BpfDataSection(sectionName, contents.ToImmutableArray(), variables.OrderBy(v => v.Offset).ToImmutableArray());
                _dataSections.Add(section, data);
                result.Add(data);
            }
            return result.ToImmutable();
        }

        /// <summary>
        /// A reference to global data, as libbpf reads it: the address is the symbol's value plus the ld_imm64's imm.
        /// clang relocates a global variable against its own symbol (imm = an offset inside it, usually 0) and a static
        /// one against the section symbol (imm = the variable's offset). The model names the variable, so the imm left
        /// in the instruction is the offset inside the variable.
        /// </summary>
        private void AddDataRelocation(ProgramBuilder program, int index, ElfSymbol symbol, ElfSection symbolSection, string where)
        {
            var sectionName = SectionName(program.Section);
            var dataSectionName = SectionName(symbolSection);
            var symbolName = symbol.Type == ElfSymbolType.Section ? dataSectionName : symbol.Name.Value ?? "";
            if (!_dataSections.TryGetValue(symbolSection, out var data))
                throw Error($"{where} refers to '{symbolName}' in the empty section {dataSectionName}.", sectionName, symbolName);
            var instruction = program.Instructions[index];
            var address = (long)symbol.Value + instruction.Imm;
            var variable = symbol.Type != ElfSymbolType.Section
                ? data.Variables.FirstOrDefault(v => v.Name == symbolName && v.Offset == (long)symbol.Value)
                : null;
            variable ??= data.Variables.FirstOrDefault(v => address >= v.Offset && address < v.Offset + v.Size);
            if (variable is null)
                throw NotSupported(
                    $"{where} refers to offset {address} of {dataSectionName}, which no variable covers; references outside variables are not supported yet.",
                    sectionName, symbolName);
            program.Instructions[index] = instruction with { Imm = (int)(address - variable.Offset) };
            program.Relocations.Add(new BpfRelocation(index, variable.Name, BpfRelocationKind.GlobalData));
        }

        // ---- programs and relocations ----

        private sealed class ProgramBuilder(string programName, ElfSection section, ulong start, Instruction[] instructions)
        {
            public string Name { get; } = programName;
            public ElfSection Section { get; } = section;
            public ulong Start { get; } = start;
            public ulong End => Start + (ulong)Instructions.Length * Instruction.Size;
            public Instruction[] Instructions { get; } = instructions;
            public List<BpfRelocation> Relocations { get; } = new();
            public List<BpfLineInfo> Lines { get; } = new();

            public BpfProgram ToProgram() => new(
                Name, SectionName(Section), Instructions.ToImmutableArray(),
                Relocations.OrderBy(r => r.InstructionIndex).ToImmutableArray(),
                Lines.ToImmutableArray());
        }

        private List<ProgramBuilder> ReadPrograms(Sections sections)
        {
            var result = new List<ProgramBuilder>();
            foreach (var section in sections.Programs)
            {
                var sectionName = SectionName(section);
                var code = Content(section);
                var functions = SymbolsIn(section).Where(s => s.Symbol.Type == ElfSymbolType.Function).OrderBy(s => s.Symbol.Value).ToList();
                if (functions.Count == 0)
                {
                    if (code.Length == 0)
                        continue;
                    throw Error($"executable section of {code.Length} bytes has no function symbol, so its programs have no names.", sectionName);
                }
                ulong previousEnd = 0;
                foreach (var (symbol, _) in functions)
                {
                    var symbolName = symbol.Name.Value ?? "";
                    if (symbol.Bind == ElfSymbolBind.Local && section != sections.Text)
                        throw Error("the program is static (STB_LOCAL); libbpf refuses static programs outside .text. Make it global.", sectionName, symbolName);
                    if (symbol.Value % Instruction.Size != 0 || symbol.Size % Instruction.Size != 0 || symbol.Size == 0)
                        throw Error($"function at offset {symbol.Value}, size {symbol.Size} is not a whole number of 8-byte instructions.", sectionName, symbolName);
                    if (symbol.Value + symbol.Size > (ulong)code.Length)
                        throw Error($"function [{symbol.Value}, +{symbol.Size}) runs past the end of the {code.Length}-byte section.", sectionName, symbolName);
                    if (symbol.Value < previousEnd)
                        throw Error($"function at offset {symbol.Value} overlaps the previous function, which ends at {previousEnd}.", sectionName, symbolName);
                    previousEnd = symbol.Value + symbol.Size;
                    var instructions = Instruction.Decode(code.AsSpan((int)symbol.Value, (int)symbol.Size));
                    result.Add(new ProgramBuilder(symbolName, section, symbol.Value, instructions));
                }
            }

            foreach (var table in _elf.Sections.OfType<ElfRelocationTable>())
            {
                var target = table.Info.Section;
                if (target is null)
                    continue;
                var targetName = SectionName(target);
                if (target == sections.Maps)
                    continue; // program-array initialisers: ReadMapSlots
                if (!sections.Programs.Contains(target))
                    continue; // debug sections, .BTF, .BTF.ext: relocations the loader never applies
                if (table.IsRelocationWithAddends)
                    throw Error($"relocation table '{SectionName(table)}' has addends (SHT_RELA); BPF objects use SHT_REL.", targetName);
                if (table.Link.Section != _symbols)
                    throw Error($"relocation table '{SectionName(table)}' does not refer to the symbol table.", targetName);
                foreach (var entry in table.Entries)
                    AddRelocation(result, sections, target, entry);
            }
            foreach (var duplicate in result.GroupBy(p => p.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
                throw NotSupported(
                    $"function '{duplicate.Key}' is defined {duplicate.Count()} times (in {string.Join(", ", duplicate.Select(p => SectionName(p.Section)))}); calls and programs are found by name, so names must be unique.",
                    SectionName(duplicate.First().Section), duplicate.Key);
            AddPcRelativeCalls(result, sections);
            return result;
        }

        /// <summary>
        /// Calls clang leaves without a relocation: a static function calling another one in the same section, with
        /// the target as a pc-relative imm. libbpf resolves those only inside <c>.text</c>, so elsewhere they are
        /// refused.
        /// </summary>
        private void AddPcRelativeCalls(List<ProgramBuilder> programs, Sections sections)
        {
            foreach (var program in programs)
            {
                var sectionName = SectionName(program.Section);
                var relocated = program.Relocations.Select(r => r.InstructionIndex).ToHashSet();
                for (var index = 0; index < program.Instructions.Length; index++)
                {
                    var instruction = program.Instructions[index];
                    if (instruction.IsLoadImm64)
                    {
                        index++;
                        continue;
                    }
                    if (!instruction.IsCall || instruction.Src != 1 || relocated.Contains(index))
                        continue;
                    var where = $"BPF-to-BPF call at instruction {index} of function '{program.Name}'";
                    if (program.Section != sections.Text)
                        throw NotSupported(
                            $"{where} has no relocation (a pc-relative call to imm {instruction.Imm}); libbpf resolves those only inside .text, so such calls are not supported.",
                            sectionName, program.Name);
                    var target = (long)(program.Start / Instruction.Size) + index + instruction.Imm + 1;
                    var callee = FunctionAt(programs, program.Section, target * Instruction.Size)
                        ?? throw Error($"{where} jumps to instruction {target} of {sectionName}, which is not the start of a function.", sectionName, program.Name);
                    program.Instructions[index] = instruction with { Imm = -1 };
                    program.Relocations.Add(new BpfRelocation(index, callee.Name, BpfRelocationKind.Call));
                }
            }
        }

        private static ProgramBuilder? FunctionAt(List<ProgramBuilder> programs, ElfSection section, long byteOffset) =>
            byteOffset < 0 ? null : programs.FirstOrDefault(p => p.Section == section && p.Start == (ulong)byteOffset);

        /// <summary>
        /// A call relocation, as libbpf reads it: the callee starts at the symbol's value / 8 + imm + 1 instructions
        /// into <c>.text</c>, whether the symbol is the function's own (imm = -1) or the section's (imm = the offset).
        /// </summary>
        private void AddCallRelocation(List<ProgramBuilder> programs, Sections sections, ProgramBuilder program, int index,
            ElfSymbol symbol, ElfSection symbolSection, string where)
        {
            var sectionName = SectionName(program.Section);
            var symbolSectionName = SectionName(symbolSection);
            var symbolName = symbol.Type == ElfSymbolType.Section ? symbolSectionName : symbol.Name.Value ?? "";
            if (symbolSection != sections.Text)
                throw NotSupported($"{where} is a BPF-to-BPF call to '{symbolName}' in {symbolSectionName}; libbpf calls only functions in .text, so calls into program sections are not supported.", sectionName, symbolName);
            var instruction = program.Instructions[index];
            if (symbol.Value % Instruction.Size != 0)
                throw Error($"{where} calls '{symbolName}' at offset {symbol.Value}, which is not on an instruction boundary.", sectionName, symbolName);
            var target = (long)symbol.Value + ((long)instruction.Imm + 1) * Instruction.Size;
            var callee = FunctionAt(programs, symbolSection, target)
                ?? throw Error($"{where} calls offset {target} of {symbolSectionName} ('{symbolName}' + imm {instruction.Imm}), which is not the start of a function.", sectionName, symbolName);
            program.Instructions[index] = instruction with { Imm = -1 };
            program.Relocations.Add(new BpfRelocation(index, callee.Name, BpfRelocationKind.Call));
        }

        private void AddRelocation(List<ProgramBuilder> programs, Sections sections, ElfSection target, ElfRelocation entry)
        {
            var sectionName = SectionName(target);
            var program = programs.FirstOrDefault(p => p.Section == target && entry.Offset >= p.Start && entry.Offset < p.End);
            if (entry.SymbolIndex >= _symbols.Entries.Count)
                throw Error($"relocation at offset {entry.Offset} refers to symbol {entry.SymbolIndex}, beyond the {_symbols.Entries.Count} symbols.", sectionName);
            var symbol = _symbols.Entries[(int)entry.SymbolIndex];
            var symbolName = symbol.Name.Value ?? "";
            if (program is null)
                throw Error($"relocation of '{symbolName}' at offset {entry.Offset} is outside every program of the section.", sectionName, symbolName);
            if (entry.Offset % Instruction.Size != 0)
                throw Error($"relocation of '{symbolName}' at offset {entry.Offset} is not on an instruction boundary.", sectionName, program.Name);
            var index = (int)((entry.Offset - program.Start) / Instruction.Size);
            var instruction = program.Instructions[index];
            var type = entry.Type.Value;
            var where = $"relocation at instruction {index} of program '{program.Name}'";
            var symbolSection = symbol.SectionLink.Section;

            if (symbolSection is null)
                throw NotSupported($"{where} refers to the undefined symbol '{symbolName}' (an extern: kfunc, ksym or kconfig variable); externs are not supported yet.", sectionName, symbolName);
            var symbolSectionName = SectionName(symbolSection);
            if (type != BpfElf.RelocationLoadImm64 && type != BpfElf.RelocationCall)
                throw Error($"{where} has type {type}; program code only takes R_BPF_64_64 (1) and R_BPF_64_32 (10).", sectionName, symbolName);

            if (symbolSection == sections.Maps)
            {
                if (type != BpfElf.RelocationLoadImm64 || !instruction.IsLoadImm64 || index + 1 >= program.Instructions.Length)
                    throw Error($"{where} refers to map '{symbolName}' but is not an R_BPF_64_64 on an ld_imm64 (it is type {type} on {instruction}).", sectionName, symbolName);
                if (symbol.Type == ElfSymbolType.Section)
                    throw NotSupported($"{where} refers to a map through the .maps section symbol rather than the map's own symbol; not supported yet.", sectionName);
                program.Relocations.Add(new BpfRelocation(index, symbolName, BpfRelocationKind.Map));
                return;
            }
            if (sections.Data.Contains(symbolSection))
            {
                if (type != BpfElf.RelocationLoadImm64 || !instruction.IsLoadImm64 || index + 1 >= program.Instructions.Length)
                    throw Error($"{where} refers to global data '{symbolName}' but is not an R_BPF_64_64 on an ld_imm64 (it is type {type} on {instruction}).", sectionName, symbolName);
                AddDataRelocation(program, index, symbol, symbolSection, where);
                return;
            }
            if (sections.Programs.Contains(symbolSection))
            {
                if (type == BpfElf.RelocationCall && instruction.IsCall && instruction.Src == 1)
                {
                    AddCallRelocation(programs, sections, program, index, symbol, symbolSection, where);
                    return;
                }
                if (instruction.IsCall)
                    throw Error($"{where} is an R_BPF_64_32 call relocation against '{symbolName}' on {instruction}, which is not a BPF-to-BPF call (src = 1).", sectionName, symbolName);
                throw NotSupported($"{where} is a function reference (callback, e.g. for bpf_loop) to '{(symbol.Type == ElfSymbolType.Section ? symbolSectionName : symbolName)}' in {symbolSectionName}; function references are not supported yet.", sectionName, symbolName);
            }
            throw Error($"{where} refers to '{symbolName}' in section '{symbolSectionName}', which is neither .maps nor code nor global data.", sectionName, symbolName);
        }

        /// <summary>
        /// Completes the DATASECs the way libbpf's btf_fixup_datasec does before loading BTF: clang leaves a DATASEC's
        /// size and its variables' offsets 0, and the kernel refuses that. The ELF has the answers (the section's size,
        /// each variable's symbol), and the loader sees only the model, so the reader fills them in. Variables of
        /// hidden symbols become static, and variables are sorted by offset, as libbpf does.
        /// </summary>
        private void FixDataSections()
        {
            if (!_types.Types.Any(t => t is BtfDataSec))
                return;
            var types = _types.Types.ToBuilder();
            for (var i = 0; i < types.Count; i++)
            {
                if (types[i] is not BtfDataSec dataSec || dataSec.Name is ".kconfig" or ".ksyms")
                    continue; // extern sections have no ELF section; externs are refused where they are used
                var size = dataSec.Size;
                var fixOffsets = size == 0;
                if (fixOffsets)
                {
                    var section = _elf.Sections.FirstOrDefault(s => SectionName(s) == dataSec.Name)
                        ?? throw Error($"BTF DATASEC '{dataSec.Name}' has no size and the object has no such section to take it from.", BpfElf.BtfSection);
                    size = (uint)section.Size;
                }
                var vars = dataSec.Vars.ToBuilder();
                for (var v = 0; v < vars.Count; v++)
                {
                    if (_types[vars[v].Type] is not BtfVar variable)
                        throw Error($"BTF DATASEC '{dataSec.Name}' entry {v} refers to type {vars[v].Type}, not a VAR.", BpfElf.BtfSection);
                    if (variable.Linkage is BtfVarLinkage.Static or BtfVarLinkage.GlobalExtern)
                        continue;
                    var symbol = _symbols.Entries.FirstOrDefault(e => e.Type == ElfSymbolType.Object
                        && e.Bind is ElfSymbolBind.Global or ElfSymbolBind.Weak && e.Name.Value == variable.Name);
                    if (symbol.Name.Value != variable.Name)
                        throw Error($"BTF VAR '{variable.Name}' of DATASEC '{dataSec.Name}' has no global ELF object symbol.", BpfElf.BtfSection, variable.Name);
                    if (fixOffsets)
                        vars[v] = vars[v] with { Offset = (uint)symbol.Value };
                    if (symbol.Visibility is ElfSymbolVisibility.Hidden or ElfSymbolVisibility.Internal)
                        types[(int)vars[v].Type - 1] = variable with { Linkage = BtfVarLinkage.Static };
                }
                types[i] = dataSec with { Size = size, Vars = vars.OrderBy(v => v.Offset).ToImmutableArray() };
            }
            _types = new BtfTypeTable(types.ToImmutable());
        }

        // ---- maps ----

        private ImmutableArray<BpfMap> ReadMaps(ElfSection section, bool hasBtf)
        {
            const string where = BpfElf.MapsSection;
            if (!hasBtf)
                throw Error(".maps needs BTF to describe its maps, but the object has no .BTF section.", where);
            var dataSec = _types.Types.OfType<BtfDataSec>().FirstOrDefault(d => d.Name == BpfElf.MapsSection)
                ?? throw Error("the BTF has no DATASEC '.maps' describing the maps in this section.", where);
            var mapSymbols = SymbolsIn(section).Where(s => s.Symbol.Type == ElfSymbolType.Object)
                .ToDictionary(s => s.Symbol.Name.Value ?? "", s => s.Symbol, StringComparer.Ordinal);
            var size = (ulong)Content(section).Length;

            var maps = ImmutableArray.CreateBuilder<BpfMap>(dataSec.Vars.Length);
            var described = new HashSet<string>(StringComparer.Ordinal);
            foreach (var info in dataSec.Vars)
            {
                if (_types[info.Type] is not BtfVar variable)
                    throw Error($"DATASEC '.maps' entry refers to BTF type {info.Type} ({_types[info.Type]?.Kind}), not a VAR.", where);
                var mapName = variable.Name;
                if (!mapSymbols.TryGetValue(mapName, out var symbol))
                    throw Error("the map has a BTF definition but no ELF object symbol in .maps (libbpf needs both).", where, mapName);
                var definitionSize = _types.SizeOf(variable.Type);
                if (symbol.Value + definitionSize > size)
                    throw Error($"the map definition [{symbol.Value}, +{definitionSize}) runs past the end of the {size}-byte section.", where, mapName);
                described.Add(mapName);
                var map = ReadMapDefinition(mapName, variable.Type, out var valuesOffset);
                maps.Add(map);
                if (valuesOffset is { } values)
                    _mapSlots[mapName] = (symbol.Value + values, symbol.Value + symbol.Size);
            }
            foreach (var undescribed in mapSymbols.Keys.Where(k => !described.Contains(k)))
                throw Error("the symbol in .maps has no VAR in the BTF DATASEC '.maps', so its definition is unknown.", where, undescribed);
            return maps.MoveToImmutable();
        }

        /// <summary>Program arrays with a <c>values</c> member: where their slots start and end in <c>.maps</c>.</summary>
        private readonly Dictionary<string, (ulong Start, ulong End)> _mapSlots = new(StringComparer.Ordinal);

        /// <summary>
        /// libbpf's program-array initialisers: each relocation in <c>.rel.maps</c> puts the entry program its symbol
        /// names into the slot at its offset in the map's <c>values</c> array.
        /// </summary>
        private ImmutableArray<BpfMap> ReadMapSlots(ImmutableArray<BpfMap> maps, Sections sections, List<ProgramBuilder> programs)
        {
            if (sections.Maps is not { } mapsSection)
                return maps;
            var slots = new Dictionary<string, SortedDictionary<int, string>>(StringComparer.Ordinal);
            foreach (var table in _elf.Sections.OfType<ElfRelocationTable>().Where(t => t.Info.Section == mapsSection))
            {
                const string where = ".rel.maps";
                if (table.IsRelocationWithAddends)
                    throw Error($"relocation table '{SectionName(table)}' has addends (SHT_RELA); BPF objects use SHT_REL.", where);
                foreach (var entry in table.Entries)
                {
                    if (entry.SymbolIndex >= _symbols.Entries.Count)
                        throw Error($"relocation at offset {entry.Offset} refers to symbol {entry.SymbolIndex}, beyond the {_symbols.Entries.Count} symbols.", where);
                    var symbol = _symbols.Entries[(int)entry.SymbolIndex];
                    var symbolName = symbol.Name.Value ?? "";
                    var map = _mapSlots.FirstOrDefault(m => entry.Offset >= m.Value.Start && entry.Offset < m.Value.End);
                    if (map.Key is null)
                    {
                        throw NotSupported($"relocation of '{symbolName}' at offset {entry.Offset} is not in the 'values' of a program array (map-in-map initialisers are not supported yet).",
                            where, symbolName);
                    }
                    if ((entry.Offset - map.Value.Start) % 8 != 0)
                        throw Error($"relocation of '{symbolName}' at offset {entry.Offset} is not on an 8-byte slot of map '{map.Key}'.", where, symbolName);
                    var program = programs.FirstOrDefault(p => p.Name == symbolName && p.Section == symbol.SectionLink.Section && p.Start == symbol.Value);
                    if (program is null || SectionName(program.Section) == BpfElf.TextSection)
                        throw Error($"slot of map '{map.Key}' refers to '{symbolName}', which is not an entry program (only those can go into a program array).", where, symbolName);
                    var slot = (int)((entry.Offset - map.Value.Start) / 8);
                    if (!slots.TryGetValue(map.Key, out var mapSlots))
                        slots[map.Key] = mapSlots = new SortedDictionary<int, string>();
                    mapSlots[slot] = symbolName;
                }
            }

            return maps.Select(m =>
            {
                if (!slots.TryGetValue(m.Name, out var set))
                    return m;
                if (set.Keys.Max() >= m.MaxEntries)
                    throw Error($"an initial program is in slot {set.Keys.Max()}, beyond max_entries {m.MaxEntries}.", BpfElf.MapsSection, m.Name);
                var initial = Enumerable.Range(0, set.Keys.Max() + 1).Select(i => set.TryGetValue(i, out var name) ? name : null).ToImmutableArray();
                return m with { InitialPrograms = initial };
            }).ToImmutableArray();
        }

        private BpfMap ReadMapDefinition(string mapName, uint typeId, out ulong? valuesOffset)
        {
            valuesOffset = null;
            const string where = BpfElf.MapsSection;
            if (_types[_types.Resolve(typeId)] is not BtfComposite { IsUnion: false } definition)
                throw Error($"the map's BTF VAR has type {typeId} ({_types[_types.Resolve(typeId)]?.Kind}), not a struct.", where, mapName);

            uint? type = null, maxEntries = null, flags = null, keySize = null, valueSize = null, pinning = null;
            uint keyType = 0, valueType = 0;
            foreach (var member in definition.Members)
            {
                switch (member.Name)
                {
                    case BpfElf.MapMember.Type:
                        type = Integer(member);
                        break;
                    case BpfElf.MapMember.MaxEntries:
                        maxEntries = Integer(member);
                        break;
                    case BpfElf.MapMember.MapFlags:
                        flags = Integer(member);
                        break;
                    case BpfElf.MapMember.KeySize:
                        keySize = Agree(keySize, Integer(member), "key");
                        break;
                    case BpfElf.MapMember.ValueSize:
                        valueSize = Agree(valueSize, Integer(member), "value");
                        break;
                    case BpfElf.MapMember.Pinning:
                        pinning = Integer(member);
                        if (pinning > (uint)BpfMapPinning.ByName)
                            throw Error($"pinning {pinning} is unknown (0 = none, 1 = by name).", where, mapName);
                        break;
                    case BpfElf.MapMember.Key:
                        keyType = Pointee(member);
                        keySize = Agree(keySize, SizeOf(keyType, "key"), "key");
                        break;
                    case BpfElf.MapMember.Value:
                        valueType = Pointee(member);
                        valueSize = Agree(valueSize, SizeOf(valueType, "value"), "value");
                        break;
                    case BpfElf.MapMember.NumaNode:
                        throw NotSupported("'numa_node' in a map definition is not supported yet.", where, mapName);
                    case BpfElf.MapMember.MapExtra:
                        if (Integer(member) != 0)
                            throw NotSupported("'map_extra' in a map definition is not supported yet.", where, mapName);
                        break;
                    case BpfElf.MapMember.Values:
                        // __array(values, int (void *)): a flexible array of function pointers, the struct's last member.
                        if (member != definition.Members[^1])
                            throw Error("'values' must be the map definition's last member.", where, mapName);
                        if (_types[_types.Resolve(member.Type)] is not BtfArray { Count: 0 } slots
                            || _types[_types.Resolve(slots.ElementType)] is not BtfReference { ReferenceKind: BtfKind.Ptr } slot)
                            throw Error("'values' is not a zero-sized array of pointers (the __array encoding).", where, mapName);
                        if (_types[_types.Resolve(slot.Type)] is not BtfFuncProto)
                            throw NotSupported("'values' of map-in-map (inner map definitions) is not supported yet; only program arrays.", where, mapName);
                        valueSize = Agree(valueSize, 4, "value");
                        valuesOffset = member.BitOffset / 8;
                        break;
                    default:
                        throw Error($"unknown map definition member '{member.Name}' (libbpf refuses it in strict mode).", where, mapName);
                }
            }
            if (type is null)
                throw Error("the map definition has no 'type'.", where, mapName);
            if (valuesOffset is not null && type != (uint)BpfMapType.ProgArray)
                throw NotSupported($"'values' in a map of type {(BpfMapType)type.Value} is not supported; only program arrays take initial programs.", where, mapName);
            return new BpfMap(mapName, (BpfMapType)type.Value, keySize ?? 0, valueSize ?? 0, maxEntries ?? 0, flags ?? 0,
                keyType, valueType, (BpfMapPinning)(pinning ?? 0));

            // __uint(name, value) is "int (*name)[value]": the value is the array's element count.
            uint Integer(BtfMember member)
            {
                if (_types[_types.Resolve(member.Type)] is BtfReference { ReferenceKind: BtfKind.Ptr } pointer
                    && _types[_types.Resolve(pointer.Type)] is BtfArray array)
                    return array.Count;
                throw Error($"member '{member.Name}' is not a pointer to an array (the __uint encoding).", where, mapName);
            }

            // __type(name, T) is "T *name".
            uint Pointee(BtfMember member)
            {
                if (_types[_types.Resolve(member.Type)] is BtfReference { ReferenceKind: BtfKind.Ptr } pointer && pointer.Type != 0)
                    return pointer.Type;
                throw Error($"member '{member.Name}' is not a pointer to a type (the __type encoding).", where, mapName);
            }

            uint SizeOf(uint id, string what)
            {
                try
                {
                    return _types.SizeOf(id);
                }
                catch (InvalidOperationException e)
                {
                    throw Error($"the {what} type {id} has no size: {e.Message}", where, mapName, e);
                }
            }

            uint Agree(uint? existing, uint size, string what)
            {
                if (existing is { } known && known != size)
                    throw Error($"the {what} size is given twice and disagrees: {known} and {size}.", where, mapName);
                return size;
            }
        }

        // ---- .xdp_run_config ----

        /// <summary>
        /// libxdp's run configs, read as libxdp reads them (xdp_parse_run_config): the VAR <c>_program</c> in the
        /// DATASEC <c>.xdp_run_config</c> is a struct whose <c>priority</c> and <c>XDP_*</c> members are
        /// <c>int (*name)[value]</c>; an action member sets (non-zero) or clears its chain-call bit, starting from
        /// libxdp's defaults. A VAR that names no entry program is one libxdp never looks up, so it is skipped; a member
        /// libxdp would refuse makes the object refused here too.
        /// </summary>
        private ImmutableArray<BpfRunConfig> ReadRunConfigs(ImmutableArray<BpfProgram> programs)
        {
            const string where = BpfElf.RunConfigSection;
            if (_types.Types.OfType<BtfDataSec>().FirstOrDefault(d => d.Name == where) is not { } dataSec)
                return ImmutableArray<BpfRunConfig>.Empty;
            var configs = ImmutableArray.CreateBuilder<BpfRunConfig>();
            foreach (var info in dataSec.Vars)
            {
                if (_types[info.Type] is not BtfVar variable)
                    throw Error($"DATASEC '{where}' entry refers to BTF type {info.Type} ({_types[info.Type]?.Kind}), not a VAR.", where);
                var program = variable.Name.Length > 1 && variable.Name[0] == '_'
                    ? programs.FirstOrDefault(p => p.Name == variable.Name.Substring(1) && p.Section != BpfElf.TextSection)
                    : null;
                if (program is null)
                    continue;
                if (_types[_types.Resolve(variable.Type)] is not BtfComposite { IsUnion: false } definition)
                    throw Error($"the run config's BTF VAR has type {variable.Type} ({_types[_types.Resolve(variable.Type)]?.Kind}), not a struct.", where, variable.Name);
                var priority = BpfRunConfig.DefaultPriority;
                var actions = BpfRunConfig.DefaultChainCallActions;
                foreach (var member in definition.Members)
                {
                    var action = BpfRunConfig.ActionNames.IndexOf(member.Name);
                    if (member.Name == BpfRunConfig.PriorityMember)
                        priority = Integer(member, variable.Name);
                    else if (action >= 0)
                        actions = Integer(member, variable.Name) != 0 ? actions | (1u << action) : actions & ~(1u << action);
                    else
                        throw Error($"run config member '{member.Name}' is neither 'priority' nor an XDP action (XDP_ABORTED … XDP_REDIRECT); libxdp refuses the program.", where, variable.Name);
                }
                configs.Add(new BpfRunConfig(program.Name, priority, actions));
            }
            return configs.ToImmutable();

            uint Integer(BtfMember member, string symbol)
            {
                if (_types[_types.Resolve(member.Type)] is BtfReference { ReferenceKind: BtfKind.Ptr } pointer
                    && _types[_types.Resolve(pointer.Type)] is BtfArray array)
                    return array.Count;
                throw Error($"run config member '{member.Name}' is not a pointer to an array (the __uint encoding).", where, symbol);
            }
        }

        // ---- .BTF.ext ----

        private List<ProgramBuilder> ApplyLineInfo(List<ProgramBuilder> programs, Sections sections)
        {
            if (sections.BtfExt is not { } extSection)
                return programs;
            if (sections.Btf is null)
                throw Error(".BTF.ext needs the .BTF string table, but the object has no .BTF section.", BpfElf.BtfExtSection);
            BtfExtInfo ext;
            try
            {
                ext = BtfExtInfo.Read(Content(extSection));
            }
            catch (FormatException e)
            {
                throw Error($"malformed .BTF.ext: {e.Message}", BpfElf.BtfExtSection, inner: e);
            }
            if (ext.CoreRelocationCount > 0)
                throw NotSupported($"{ext.CoreRelocationCount} CO-RE relocations (BPF_CORE_READ, preserve_access_index) are not supported yet.", BpfElf.BtfExtSection);

            foreach (var block in ext.LineInfo)
            {
                var sectionName = BtfString(block.SectionNameOffset, "section name");
                var inSection = programs.Where(p => SectionName(p.Section) == sectionName).ToList();
                if (inSection.Count == 0)
                    continue; // e.g. line info of an empty .text: no program to attach it to
                foreach (var record in block.Records)
                {
                    var program = inSection.FirstOrDefault(p => record.InstructionOffset >= p.Start && record.InstructionOffset < p.End);
                    if (program is null || record.InstructionOffset % Instruction.Size != 0)
                        throw Error($"line info at byte offset {record.InstructionOffset} of section '{sectionName}' is not on an instruction of a program.", BpfElf.BtfExtSection);
                    program.Lines.Add(new BpfLineInfo(
                        (int)((record.InstructionOffset - program.Start) / Instruction.Size),
                        BtfString(record.FileNameOffset, "file name"),
                        (int)record.Line,
                        (int)record.Column,
                        BtfString(record.LineOffset, "line text")));
                }
            }
            return programs;
        }

        private string BtfString(uint offset, string what)
        {
            if (_strings.TryGet(offset, out var value))
                return value;
            throw Error($"{what} offset {offset} is outside the {_strings.Length}-byte BTF string section.", BpfElf.BtfExtSection);
        }

        // ---- license and helpers ----

        private string ReadLicense(ElfSection section)
        {
            var content = Content(section);
            var end = Array.IndexOf(content, (byte)0);
            if (end < 0)
                throw Error("the license is not NUL-terminated.", BpfElf.LicenseSection);
            return Encoding.UTF8.GetString(content, 0, end);
        }

        private IEnumerable<(ElfSymbol Symbol, int Index)> SymbolsIn(ElfSection section) =>
            _symbols.Entries.Select((s, i) => (s, i)).Where(e => e.s.SectionLink.Section == section);

        private byte[] Content(ElfSection section)
        {
            if (_contents.TryGetValue(section, out var cached))
                return cached;
            byte[] content;
            if (section is ElfStreamSection { Stream: { } stream })
            {
                using var copy = new MemoryStream();
                stream.Position = 0;
                stream.CopyTo(copy);
                content = copy.ToArray();
            }
            else if (section.Type == ElfSectionType.NoBits)
            {
                content = new byte[section.Size];
            }
            else
            {
                throw Error($"section of type {section.Type} has no readable content.", SectionName(section));
            }
            _contents[section] = content;
            return content;
        }

        private static string SectionName(ElfSection section) => section.Name.Value ?? "";

        private BpfObjectFormatException Error(string message, string? section = null, string? symbol = null, Exception? inner = null) =>
            new(name, message, section, symbol, inner);

        private BpfObjectFormatException NotSupported(string message, string? section = null, string? symbol = null) =>
            new(name, message, section, symbol) { IsNotSupported = true };
    }
}

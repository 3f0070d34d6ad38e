using System.Collections.Immutable;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Btf;

namespace XdpCompiler.Core.Objects;

// The object model between the backend and the ELF writer, and between the ELF reader and the loader: what a BPF
// relocatable object says, without ELF's bookkeeping. Our writer and the runtime's reader meet here, so a round trip
// through ELF can be compared model to model.

/// <summary>One ELF relocatable object: programs, maps and the BTF that describes their types.</summary>
public sealed record BpfObject(
    string Name,
    string License,
    ImmutableArray<BpfProgram> Programs,
    ImmutableArray<BpfMap> Maps,
    BtfTypeTable Types)
{
    /// <summary>Global variables by section (<c>.data</c>, <c>.rodata</c>, <c>.bss</c>); empty when the object has none.</summary>
    public ImmutableArray<BpfDataSection> DataSections { get; init; } = ImmutableArray<BpfDataSection>.Empty;

    /// <summary>libxdp run configs (section <c>.xdp_run_config</c>), at most one per program; empty when none.</summary>
    public ImmutableArray<BpfRunConfig> RunConfigs { get; init; } = ImmutableArray<BpfRunConfig>.Empty;
}

/// <summary>
/// A global-data section: the loader makes it a one-entry array map whose value is <see cref="Contents"/> (all zeros
/// and only a size for <c>.bss</c>), read-only to programs and frozen for <c>.rodata</c>. A program reaches a variable
/// through an <c>ld_imm64</c> with a <see cref="BpfRelocationKind.GlobalData"/> relocation against the variable's name.
/// </summary>
public sealed record BpfDataSection(string Name, ImmutableArray<byte> Contents, ImmutableArray<BpfGlobalVariable> Variables)
{
    public int Size => Contents.Length;

    public bool IsReadOnly => Name.StartsWith(".rodata", StringComparison.Ordinal);

    public bool IsZeroFilled => Name.StartsWith(".bss", StringComparison.Ordinal);
}

/// <summary>A variable of a data section: its byte range there and its BTF type (0 when unknown).</summary>
public sealed record BpfGlobalVariable(string Name, int Offset, int Size, uint Type = 0);

/// <summary>
/// One entry point (a global function in a program section). <see cref="Relocations"/> index into
/// <see cref="Instructions"/>, which start at the function's first instruction.
/// </summary>
public sealed record BpfProgram(
    string Name,
    string Section,
    ImmutableArray<Instruction> Instructions,
    ImmutableArray<BpfRelocation> Relocations,
    ImmutableArray<BpfLineInfo> Lines)
{
    /// <summary>The program type libbpf infers from the section name (all ours are XDP).</summary>
    public bool IsXdp => Section == "xdp" || Section.StartsWith("xdp/", StringComparison.Ordinal) || Section.StartsWith("xdp.", StringComparison.Ordinal);
}

public enum BpfRelocationKind
{
    /// <summary><c>ld_imm64</c> of a map: the loader puts the map's fd in imm with src = BPF_PSEUDO_MAP_FD.</summary>
    Map,
    /// <summary>
    /// <c>ld_imm64</c> of a global variable: the loader puts the data section's map fd in imm with src =
    /// BPF_PSEUDO_MAP_VALUE and the variable's offset (plus the instruction's own imm) in the second slot's imm.
    /// </summary>
    GlobalData,
    /// <summary>BPF-to-BPF call to a subprogram in <c>.text</c>.</summary>
    Call,
}

/// <summary>Patch the instruction at <paramref name="InstructionIndex"/> with the address of <paramref name="Symbol"/>.</summary>
public sealed record BpfRelocation(int InstructionIndex, string Symbol, BpfRelocationKind Kind);

/// <summary>Source position of an instruction: file, 1-based line and column, and the line's text.</summary>
public sealed record BpfLineInfo(int InstructionIndex, string File, int Line, int Column, string LineText);

/// <summary>The kernel's <c>enum bpf_map_type</c> (the values libbpf reads from a map definition's <c>type</c>).</summary>
public enum BpfMapType : uint
{
    Unspec = 0,
    Hash = 1,
    Array = 2,
    ProgArray = 3,
    PerfEventArray = 4,
    PerCpuHash = 5,
    PerCpuArray = 6,
    StackTrace = 7,
    CgroupArray = 8,
    LruHash = 9,
    LruPerCpuHash = 10,
    LpmTrie = 11,
    ArrayOfMaps = 12,
    HashOfMaps = 13,
    DevMap = 14,
    SockMap = 15,
    CpuMap = 16,
    XskMap = 17,
    SockHash = 18,
    CgroupStorage = 19,
    ReuseportSockArray = 20,
    PerCpuCgroupStorage = 21,
    Queue = 22,
    Stack = 23,
    SkStorage = 24,
    DevMapHash = 25,
    StructOps = 26,
    RingBuf = 27,
}

/// <summary>
/// A BTF-defined map. <see cref="KeyType"/> and <see cref="ValueType"/> are ids in the object's BTF (0 when a map has
/// only sizes, as ring buffers do).
/// </summary>
public sealed record BpfMap(
    string Name,
    BpfMapType Type,
    uint KeySize,
    uint ValueSize,
    uint MaxEntries,
    uint Flags = 0,
    uint KeyType = 0,
    uint ValueType = 0,
    BpfMapPinning Pinning = BpfMapPinning.None)
{
    /// <summary>
    /// A program array's initial slots (libbpf's <c>.values</c> initializer): the name of the entry program for each
    /// slot from 0 up to the last one set, null or "" where a slot stays empty. Default (not set) for other maps.
    /// The loader puts each program's fd into its slot once the programs are loaded.
    /// </summary>
    public ImmutableArray<string?> InitialPrograms { get; init; }

    /// <summary>True when the map has at least one initial program.</summary>
    public bool HasInitialPrograms => !InitialPrograms.IsDefaultOrEmpty && InitialPrograms.Any(p => !string.IsNullOrEmpty(p));
}

/// <summary>libbpf's <c>LIBBPF_PIN_*</c>: pin by name under the pin root, or not at all.</summary>
public enum BpfMapPinning : uint
{
    None = 0,
    ByName = 1,
}

namespace XdpCompiler.Core.Elf;

/// <summary>
/// The ELF numbers and section names a BPF relocatable object uses (the ELF gABI, the kernel's uapi
/// <c>linux/elf-em.h</c> and LLVM's BPF relocation list). Shared by our writer and the runtime's reader.
/// </summary>
public static class BpfElf
{
    /// <summary><c>EM_BPF</c>.</summary>
    public const ushort MachineBpf = 247;

    /// <summary><c>ET_REL</c>.</summary>
    public const ushort TypeRelocatable = 1;

    /// <summary><c>R_BPF_64_64</c>: the 64-bit immediate of an <c>ld_imm64</c> (maps, global data).</summary>
    public const uint RelocationLoadImm64 = 1;

    /// <summary><c>R_BPF_64_ABS64</c>: a 64-bit absolute address (debug sections only).</summary>
    public const uint RelocationAbs64 = 2;

    /// <summary><c>R_BPF_64_ABS32</c>: a 32-bit absolute address (debug sections only).</summary>
    public const uint RelocationAbs32 = 3;

    /// <summary><c>R_BPF_64_NODYLD32</c>: a 32-bit value left alone at load time (.BTF and .BTF.ext).</summary>
    public const uint RelocationNoDyld32 = 4;

    /// <summary><c>R_BPF_64_32</c>: the 32-bit immediate of a BPF-to-BPF <c>call</c>.</summary>
    public const uint RelocationCall = 10;

    public const string MapsSection = ".maps";
    public const string LicenseSection = "license";
    public const string LicenseSymbol = "_license";
    public const string BtfSection = ".BTF";
    public const string BtfExtSection = ".BTF.ext";
    public const string TextSection = ".text";
    public const string SymbolTableSection = ".symtab";
    public const string StringTableSection = ".strtab";

    /// <summary>libxdp's run configs (<c>XDP_RUN_CONFIG</c>): one BTF-described variable per program.</summary>
    public const string RunConfigSection = ".xdp_run_config";

    public const string DataSection = ".data";
    public const string ReadOnlyDataSection = ".rodata";
    public const string ZeroDataSection = ".bss";

    /// <summary>
    /// A global-data section libbpf makes into an internal array map: <c>.data</c>, <c>.rodata</c>, <c>.bss</c>, or
    /// one of them followed by a dot and more (<c>.data.foo</c>, <c>.rodata.str1.1</c>), as libbpf's section
    /// classification reads names.
    /// </summary>
    public static bool IsDataSection(string name) =>
        IsNameOrChild(name, DataSection) || IsNameOrChild(name, ReadOnlyDataSection) || IsNameOrChild(name, ZeroDataSection);

    private static bool IsNameOrChild(string name, string prefix) =>
        name.StartsWith(prefix, StringComparison.Ordinal) && (name.Length == prefix.Length || name[prefix.Length] == '.');

    /// <summary>The legacy <c>struct bpf_map_def</c> section libbpf 1.0 refuses.</summary>
    public const string LegacyMapsSection = "maps";

    /// <summary>Member names of a BTF-defined map definition (libbpf's <c>parse_btf_map_def</c>).</summary>
    public static class MapMember
    {
        public const string Type = "type";
        public const string MaxEntries = "max_entries";
        public const string MapFlags = "map_flags";
        public const string Key = "key";
        public const string Value = "value";
        public const string KeySize = "key_size";
        public const string ValueSize = "value_size";
        public const string Pinning = "pinning";
        public const string NumaNode = "numa_node";
        public const string MapExtra = "map_extra";
        public const string Values = "values";
    }

    /// <summary>Name of libbpf's index type for the arrays that encode integers in map definitions.</summary>
    public const string ArraySizeTypeName = "__ARRAY_SIZE_TYPE__";

    /// <summary>
    /// True for a C identifier, which the kernel demands of BTF FUNC and VAR names (btf_name_valid_identifier) and
    /// which every symbol we write should be.
    /// </summary>
    public static bool IsIdentifier(string name)
    {
        if (string.IsNullOrEmpty(name) || !(IsAsciiLetter(name[0]) || name[0] == '_'))
            return false;
        foreach (var c in name)
        {
            if (!(IsAsciiLetter(c) || (c >= '0' && c <= '9') || c == '_'))
                return false;
        }
        return true;

        static bool IsAsciiLetter(char c) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }
}

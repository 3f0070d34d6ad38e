using System.Runtime.InteropServices;

namespace XdpCompiler.Runtime.Interop;

// The parts of the kernel's `union bpf_attr` (include/uapi/linux/bpf.h) this runtime uses, one struct per command,
// with offsets spelled out so the layout cannot drift with compiler rules. The size passed to bpf() is the struct's
// size: the kernel zero-fills anything beyond it and refuses non-zero bytes it does not know, so each struct stops at
// the last field we set. Fields newer than 5.x note the kernel that added them; older kernels ignore them only when
// they are zero. Tests compare every offset with clang's offsetof.

internal enum BpfCommand : int
{
    MapCreate = 0,
    MapLookupElem = 1,
    MapUpdateElem = 2,
    MapDeleteElem = 3,
    MapGetNextKey = 4,
    ProgLoad = 5,
    ObjPin = 6,
    ObjGet = 7,
    ProgTestRun = 10,
    ProgGetFdById = 13,
    MapGetFdById = 14,
    ObjGetInfoByFd = 15,
    BtfLoad = 18,
    MapLookupBatch = 24,
    MapLookupAndDeleteBatch = 25,
    MapUpdateBatch = 26,
    MapDeleteBatch = 27,
    LinkCreate = 28,
    LinkGetFdById = 30,
    LinkGetNextId = 31,
    EnableStats = 32,
    LinkDetach = 34,
}

internal enum BpfProgType : uint
{
    Xdp = 6,
}

internal enum BpfAttachType : uint
{
    Xdp = 37,
    XdpDevMap = 33,
    XdpCpuMap = 35,
}

internal static class BpfLimits
{
    /// <summary>BPF_OBJ_NAME_LEN: names are 15 characters and a NUL.</summary>
    public const int ObjectNameLength = 16;

    /// <summary>The largest verifier/BTF log buffer the kernel accepts (UINT_MAX >> 2 since 5.2).</summary>
    public const uint MaxLogSize = uint.MaxValue >> 2;
}

[StructLayout(LayoutKind.Explicit, Size = 72)]
internal unsafe struct MapCreateAttr
{
    [FieldOffset(0)] public uint MapType;
    [FieldOffset(4)] public uint KeySize;
    [FieldOffset(8)] public uint ValueSize;
    [FieldOffset(12)] public uint MaxEntries;
    [FieldOffset(16)] public uint MapFlags;
    [FieldOffset(20)] public uint InnerMapFd;
    [FieldOffset(24)] public uint NumaNode;
    [FieldOffset(28)] public fixed byte MapName[BpfLimits.ObjectNameLength];
    [FieldOffset(44)] public uint MapIfindex;
    [FieldOffset(48)] public uint BtfFd;
    [FieldOffset(52)] public uint BtfKeyTypeId;
    [FieldOffset(56)] public uint BtfValueTypeId;
    [FieldOffset(60)] public uint BtfVmlinuxValueTypeId;
    [FieldOffset(64)] public ulong MapExtra;
}

/// <summary>BPF_MAP_LOOKUP_ELEM / UPDATE / DELETE / GET_NEXT_KEY (<see cref="Value"/> doubles as next_key).</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct MapElemAttr
{
    [FieldOffset(0)] public uint MapFd;
    [FieldOffset(8)] public ulong Key;
    [FieldOffset(16)] public ulong Value;
    [FieldOffset(24)] public ulong Flags;
}

/// <summary>BPF_MAP_*_BATCH (5.6+): positions are opaque tokens the kernel hands back in <see cref="OutBatch"/>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 56)]
internal struct MapBatchAttr
{
    [FieldOffset(0)] public ulong InBatch;
    [FieldOffset(8)] public ulong OutBatch;
    [FieldOffset(16)] public ulong Keys;
    [FieldOffset(24)] public ulong Values;
    /// <summary>In: how many elements the buffers hold; out: how many were processed.</summary>
    [FieldOffset(32)] public uint Count;
    [FieldOffset(36)] public uint MapFd;
    [FieldOffset(40)] public ulong ElemFlags;
    [FieldOffset(48)] public ulong Flags;
}

[StructLayout(LayoutKind.Explicit, Size = 144)]
internal unsafe struct ProgLoadAttr
{
    [FieldOffset(0)] public uint ProgType;
    [FieldOffset(4)] public uint InsnCount;
    [FieldOffset(8)] public ulong Insns;
    [FieldOffset(16)] public ulong License;
    [FieldOffset(24)] public uint LogLevel;
    [FieldOffset(28)] public uint LogSize;
    [FieldOffset(32)] public ulong LogBuf;
    [FieldOffset(40)] public uint KernVersion;
    [FieldOffset(44)] public uint ProgFlags;
    [FieldOffset(48)] public fixed byte ProgName[BpfLimits.ObjectNameLength];
    [FieldOffset(64)] public uint ProgIfindex;
    [FieldOffset(68)] public uint ExpectedAttachType;
    [FieldOffset(72)] public uint ProgBtfFd;
    [FieldOffset(76)] public uint FuncInfoRecSize;
    [FieldOffset(80)] public ulong FuncInfo;
    [FieldOffset(88)] public uint FuncInfoCount;
    [FieldOffset(92)] public uint LineInfoRecSize;
    [FieldOffset(96)] public ulong LineInfo;
    [FieldOffset(104)] public uint LineInfoCount;
    [FieldOffset(108)] public uint AttachBtfId;
    [FieldOffset(112)] public uint AttachProgFd;
    [FieldOffset(116)] public uint CoreReloCount;
    [FieldOffset(120)] public ulong FdArray;
    [FieldOffset(128)] public ulong CoreRelos;
    [FieldOffset(136)] public uint CoreReloRecSize;
    /// <summary>Output (6.4+): the log size the kernel needed, including the NUL; 0 on older kernels.</summary>
    [FieldOffset(140)] public uint LogTrueSize;
}

[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct BtfLoadAttr
{
    [FieldOffset(0)] public ulong Btf;
    [FieldOffset(8)] public ulong BtfLogBuf;
    [FieldOffset(16)] public uint BtfSize;
    [FieldOffset(20)] public uint BtfLogSize;
    [FieldOffset(24)] public uint BtfLogLevel;
    /// <summary>Output (6.4+), as <see cref="ProgLoadAttr.LogTrueSize"/>.</summary>
    [FieldOffset(28)] public uint BtfLogTrueSize;
}

[StructLayout(LayoutKind.Explicit, Size = 80)]
internal struct TestRunAttr
{
    [FieldOffset(0)] public uint ProgFd;
    [FieldOffset(4)] public uint Retval;
    [FieldOffset(8)] public uint DataSizeIn;
    [FieldOffset(12)] public uint DataSizeOut;
    [FieldOffset(16)] public ulong DataIn;
    [FieldOffset(24)] public ulong DataOut;
    [FieldOffset(32)] public uint Repeat;
    [FieldOffset(36)] public uint Duration;
    [FieldOffset(40)] public uint CtxSizeIn;
    [FieldOffset(44)] public uint CtxSizeOut;
    [FieldOffset(48)] public ulong CtxIn;
    [FieldOffset(56)] public ulong CtxOut;
    [FieldOffset(64)] public uint Flags;
    [FieldOffset(68)] public uint Cpu;
    [FieldOffset(72)] public uint BatchSize;
}

/// <summary>BPF_OBJ_PIN / BPF_OBJ_GET.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct ObjPinAttr
{
    [FieldOffset(0)] public ulong Pathname;
    [FieldOffset(8)] public uint BpfFd;
    [FieldOffset(12)] public uint FileFlags;
}

[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct ObjInfoAttr
{
    [FieldOffset(0)] public uint BpfFd;
    [FieldOffset(4)] public uint InfoLen;
    [FieldOffset(8)] public ulong Info;
}

/// <summary>BPF_*_GET_FD_BY_ID.</summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
internal struct GetFdByIdAttr
{
    [FieldOffset(0)] public uint Id;
    [FieldOffset(4)] public uint NextId;
    [FieldOffset(8)] public uint OpenFlags;
}

/// <summary>BPF_LINK_CREATE for XDP: only the common head of the command's struct.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct LinkCreateAttr
{
    [FieldOffset(0)] public uint ProgFd;
    [FieldOffset(4)] public uint TargetIfindex;
    [FieldOffset(8)] public uint AttachType;
    [FieldOffset(12)] public uint Flags;
}

/// <summary>The head of <c>struct bpf_prog_info</c> (the kernel fills only as much as we ask for).</summary>
[StructLayout(LayoutKind.Explicit, Size = 216)]
internal unsafe struct ProgInfo
{
    [FieldOffset(0)] public uint Type;
    [FieldOffset(4)] public uint Id;
    [FieldOffset(8)] public fixed byte Tag[8];
    [FieldOffset(16)] public uint JitedProgLen;
    [FieldOffset(20)] public uint XlatedProgLen;
    [FieldOffset(64)] public fixed byte Name[BpfLimits.ObjectNameLength];
    [FieldOffset(80)] public uint Ifindex;
    // run_time_ns and run_cnt (5.1), recursion_misses (5.12): counted only while BPF_ENABLE_STATS (or the sysctl) is on.
    [FieldOffset(192)] public ulong RunTimeNs;
    [FieldOffset(200)] public ulong RunCount;
    [FieldOffset(208)] public ulong RecursionMisses;
}

/// <summary>BPF_ENABLE_STATS (5.8): <c>type</c> is BPF_STATS_RUN_TIME (0).</summary>
[StructLayout(LayoutKind.Explicit, Size = 4)]
internal struct EnableStatsAttr
{
    [FieldOffset(0)] public uint Type;
}

/// <summary>The head of <c>struct bpf_map_info</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
internal unsafe struct MapInfo
{
    [FieldOffset(0)] public uint Type;
    [FieldOffset(4)] public uint Id;
    [FieldOffset(8)] public uint KeySize;
    [FieldOffset(12)] public uint ValueSize;
    [FieldOffset(16)] public uint MaxEntries;
    [FieldOffset(20)] public uint MapFlags;
    [FieldOffset(24)] public fixed byte Name[BpfLimits.ObjectNameLength];
}

/// <summary><c>struct bpf_link_info</c> with its XDP member.</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
internal struct LinkInfo
{
    [FieldOffset(0)] public uint Type;
    [FieldOffset(4)] public uint Id;
    [FieldOffset(8)] public uint ProgId;
    [FieldOffset(16)] public uint XdpIfindex;
}

/// <summary><c>struct bpf_func_info</c>: instruction index (not bytes, unlike .BTF.ext) and BTF FUNC id.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuncInfoRecord
{
    public uint InsnOff;
    public uint TypeId;
}

/// <summary><c>struct bpf_line_info</c>: instruction index, BTF string offsets, <c>line &lt;&lt; 10 | column</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LineInfoRecord
{
    public uint InsnOff;
    public uint FileNameOff;
    public uint LineOff;
    public uint LineCol;
}

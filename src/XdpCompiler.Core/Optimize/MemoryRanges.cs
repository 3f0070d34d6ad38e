using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// Whether two accesses of [base + offset, + size) may touch the same bytes, for passes that reorder or drop them.
/// Two accesses are known apart only through one base register (defined once, or the frame pointer: the callers
/// check) with byte ranges that do not meet; through two registers they may be anything.
/// </summary>
internal static class MemoryRanges
{
    public static bool Overlap(int baseA, short offsetA, MemSize sizeA, int baseB, short offsetB, MemSize sizeB) =>
        baseA != baseB || offsetA < offsetB + Bytes(sizeB) && offsetB < offsetA + Bytes(sizeA);

    /// <summary>Whether the first access writes every byte of the second.</summary>
    public static bool Covers(int baseA, short offsetA, MemSize sizeA, int baseB, short offsetB, MemSize sizeB) =>
        baseA == baseB && offsetA <= offsetB && offsetA + Bytes(sizeA) >= offsetB + Bytes(sizeB);

    private static int Bytes(MemSize size) => size.Bits() / 8;
}

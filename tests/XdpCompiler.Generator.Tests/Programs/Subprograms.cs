using System.Runtime.CompilerServices;
using XdpCompiler;

public struct Span16
{
    public uint Start;
    public uint Length;
}

public static unsafe partial class Subprograms
{
    [Map] static readonly ArrayMap<ulong> Totals = new(maxEntries: 4);

    /// <summary>BPF-to-BPF calls: packet pointers, the context, ref and struct parameters, nesting, a generic function.</summary>
    [XdpProgram("xdp_subprograms")]
    public static XdpAction Run(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        uint sum = Checksum(data, end, 20);
        ulong state = sum;
        Mix(ref state, data + 1 <= end ? data[0] : 0u);
        var span = new Span16 { Start = (uint)(state & 0xFF), Length = Length(ctx) };
        uint clipped = Clip(span, 64);
        Count(clipped & 3, state);
        uint larger = Larger(sum, clipped) + ByteAt(&state, (int)(clipped & 15));
        return Decide(ctx, larger);
    }

    /// <summary>Calls the same functions: the object holds each once.</summary>
    [XdpProgram("xdp_subprograms_again")]
    public static XdpAction Again(XdpContext ctx)
    {
        byte* data = ctx.Data, end = ctx.DataEnd;
        Count(1, Checksum(data, end, 8));
        return Decide(ctx, Length(ctx));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static uint Checksum(byte* data, byte* end, int limit)
    {
        uint sum = 0;
        for (int i = 0; i < 20; i++)
        {
            if (i >= limit || data + i + 1 > end)
                break;
            sum = (sum << 3) + data[i] + (sum >> 29);
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void Mix(ref ulong state, uint value)
    {
        state ^= value * 0x9E3779B1u;
        state = (state << 7) | (state >> 57);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static uint Length(XdpContext ctx) => (uint)(ctx.DataEnd - ctx.Data);

    [MethodImpl(MethodImplOptions.NoInlining)]
    static uint Clip(Span16 span, uint limit)
    {
        span.Length = span.Length > limit ? limit : span.Length;
        return span.Start + span.Length;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void Count(uint slot, ulong amount)
    {
        ulong* total = Totals.Lookup(slot);
        if (total == null)
            return;
        *total += Fold(amount);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static ulong Fold(ulong value) => (value >> 32) ^ (value & 0xFFFFFFFF);

    [MethodImpl(MethodImplOptions.NoInlining)]
    static uint Larger(uint a, uint b) => a > b ? a : b;

    [MethodImpl(MethodImplOptions.NoInlining)]
    static uint ByteAt<T>(T* value, int index) where T : unmanaged => index < sizeof(T) ? ((byte*)value)[index] : 0u;

    [MethodImpl(MethodImplOptions.NoInlining)]
    static XdpAction Decide(XdpContext ctx, uint value) =>
        ctx.RxQueueIndex > 100 ? XdpAction.Aborted : (value & 7) == 0 ? XdpAction.Drop : XdpAction.Pass;
}

using System.Runtime.InteropServices;

namespace XdpCompiler;

/// <summary>
/// The packet an XDP program sees: the kernel's <c>struct xdp_md</c>. In eBPF each property is a context load the
/// verifier turns into a packet pointer; in .NET it is a pinned copy of a packet, so a program runs in a unit test.
/// </summary>
public sealed unsafe partial class XdpContext : IDisposable
{
    /// <summary>Headroom in front of the packet, as the kernel leaves for <c>bpf_xdp_adjust_head</c>.</summary>
    public const int DefaultHeadroom = 256;

    // The layout of BPF_PROG_TEST_RUN's buffer, so adjust_head/tail/meta succeed and fail exactly where the kernel's
    // do: a 4096-byte frame whose first 40 bytes hold struct xdp_frame and whose last 320 hold skb_shared_info.
    private const int FrameSize = 4096;
    private const int FrameHeader = 40;
    private const int SharedInfo = 320;
    private const int EthernetHeaderLength = 14;

    private readonly byte[] _buffer;
    private GCHandle _pin;
    private int _meta;
    private int _start;
    private int _length;

    private XdpContext(byte[] buffer, int start, int length)
    {
        _buffer = buffer;
        _start = start;
        _meta = start;
        _length = length;
        _pin = GCHandle.Alloc(buffer, GCHandleType.Pinned);
    }

    ~XdpContext() => Release();

    /// <summary>A context over a copy of <paramref name="packet"/>, starting at the Ethernet header.</summary>
    public static XdpContext FromPacket(ReadOnlySpan<byte> packet, uint ingressIfindex = 1, uint rxQueueIndex = 0)
    {
        var buffer = new byte[Math.Max(DefaultHeadroom + packet.Length, FrameSize)];
        packet.CopyTo(buffer.AsSpan(DefaultHeadroom));
        return new XdpContext(buffer, DefaultHeadroom, packet.Length)
        {
            IngressIfindex = ingressIfindex,
            RxQueueIndex = rxQueueIndex,
        };
    }

    /// <summary>First byte of the packet (<c>ctx->data</c>).</summary>
    public byte* Data => Base + _start;

    /// <summary>One past the last byte of the packet (<c>ctx->data_end</c>); every access must be checked against it.</summary>
    public byte* DataEnd => Base + _start + _length;

    /// <summary>Start of the metadata area in front of the packet (<c>ctx->data_meta</c>); empty until <see cref="AdjustMeta"/>.</summary>
    public byte* DataMeta => Base + _meta;

    /// <summary>
    /// <c>bpf_xdp_adjust_head</c>: moves the packet start by <paramref name="delta"/> bytes (negative grows the packet at
    /// the front). Returns 0, or -EINVAL (-22) when the headroom or the 14-byte minimum would be violated. Packet
    /// pointers read before the call are invalid after it: read <see cref="Data"/> and <see cref="DataEnd"/> again.
    /// </summary>
    [BpfHelper(44)]
    public int AdjustHead(int delta)
    {
        var metaLength = _start - _meta;
        var start = _start + delta;
        if (start < FrameHeader + metaLength || start > _start + _length - EthernetHeaderLength)
            return -22;
        if (metaLength > 0)
            Buffer.BlockCopy(_buffer, _meta, _buffer, _meta + delta, metaLength);
        _meta += delta;
        _length -= delta;
        _start = start;
        return 0;
    }

    /// <summary>
    /// <c>bpf_xdp_adjust_tail</c>: moves the packet end by <paramref name="delta"/> bytes (positive grows it, zero-filled).
    /// Returns 0, or -EINVAL (-22) past the frame's tailroom or below 14 bytes.
    /// </summary>
    [BpfHelper(65)]
    public int AdjustTail(int delta)
    {
        var end = _start + _length + delta;
        if (end > FrameSize - SharedInfo || end < _start + EthernetHeaderLength || end > _buffer.Length)
            return -22;
        if (delta > 0)
            Array.Clear(_buffer, _start + _length, delta);
        _length += delta;
        return 0;
    }

    /// <summary>
    /// <c>bpf_xdp_adjust_meta</c>: moves the metadata start by <paramref name="delta"/> bytes (negative reserves room).
    /// Returns 0, -EINVAL (-22) out of bounds, or -EACCES (-13) when the metadata would not be a multiple of 4 below 256 bytes.
    /// </summary>
    [BpfHelper(54)]
    public int AdjustMeta(int delta)
    {
        var meta = _meta + delta;
        if (meta < FrameHeader || meta > _start)
            return -22;
        var length = _start - meta;
        // The kernel keeps the metadata length in a u8 (skb_shared_info.meta_len) and wants it 4-byte aligned.
        if ((length & 3) != 0 || length > 255)
            return -13;
        _meta = meta;
        return 0;
    }

    /// <summary>Index of the interface the packet arrived on (<c>ctx->ingress_ifindex</c>).</summary>
    public uint IngressIfindex { get; set; }

    /// <summary>Receive queue the packet arrived on (<c>ctx->rx_queue_index</c>).</summary>
    public uint RxQueueIndex { get; set; }

    /// <summary>Target interface of a devmap redirect (<c>ctx->egress_ifindex</c>); 0 elsewhere.</summary>
    public uint EgressIfindex { get; set; }

    /// <summary>The packet as it is now, with whatever the program wrote into it.</summary>
    public byte[] GetPacket() => _buffer.AsSpan(_start, _length).ToArray();

    /// <summary>The metadata in front of the packet (empty unless the program called <see cref="AdjustMeta"/>).</summary>
    public byte[] GetMetadata() => _buffer.AsSpan(_meta, _start - _meta).ToArray();

    private byte* Base
    {
        get
        {
            if (!_pin.IsAllocated)
                throw new ObjectDisposedException(nameof(XdpContext));
            return (byte*)_pin.AddrOfPinnedObject();
        }
    }

    public void Dispose()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    private void Release()
    {
        if (_pin.IsAllocated)
            _pin.Free();
    }
}

using System.Runtime.InteropServices;

namespace XdpCompiler;

/// <summary>
/// The packet an XDP program sees: the kernel's <c>struct xdp_md</c>. In eBPF each property is a context load the
/// verifier turns into a packet pointer; in .NET it is a pinned copy of a packet, so a program runs in a unit test.
/// </summary>
public sealed unsafe class XdpContext : IDisposable
{
    /// <summary>Headroom in front of the packet, as the kernel leaves for <c>bpf_xdp_adjust_head</c>.</summary>
    public const int DefaultHeadroom = 256;

    private readonly byte[] _buffer;
    private GCHandle _pin;
    private readonly int _start;
    private readonly int _length;

    private XdpContext(byte[] buffer, int start, int length)
    {
        _buffer = buffer;
        _start = start;
        _length = length;
        _pin = GCHandle.Alloc(buffer, GCHandleType.Pinned);
    }

    ~XdpContext() => Release();

    /// <summary>A context over a copy of <paramref name="packet"/>, starting at the Ethernet header.</summary>
    public static XdpContext FromPacket(ReadOnlySpan<byte> packet, uint ingressIfindex = 1, uint rxQueueIndex = 0)
    {
        var buffer = new byte[DefaultHeadroom + packet.Length];
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

    /// <summary>Start of the metadata area in front of the packet (<c>ctx->data_meta</c>); empty here, as on most drivers.</summary>
    public byte* DataMeta => Data;

    /// <summary>Index of the interface the packet arrived on (<c>ctx->ingress_ifindex</c>).</summary>
    public uint IngressIfindex { get; set; }

    /// <summary>Receive queue the packet arrived on (<c>ctx->rx_queue_index</c>).</summary>
    public uint RxQueueIndex { get; set; }

    /// <summary>Target interface of a devmap redirect (<c>ctx->egress_ifindex</c>); 0 elsewhere.</summary>
    public uint EgressIfindex { get; set; }

    /// <summary>The packet as it is now, with whatever the program wrote into it.</summary>
    public byte[] GetPacket() => _buffer.AsSpan(_start, _length).ToArray();

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

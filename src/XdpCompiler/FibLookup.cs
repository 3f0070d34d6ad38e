using System.Runtime.InteropServices;

namespace XdpCompiler;

/// <summary>
/// The kernel's <c>struct bpf_fib_lookup</c> (64 bytes, <c>include/uapi/linux/bpf.h</c>): the question for
/// <see cref="XdpContext.FibLookup"/> going in, the route's answer coming out. Addresses and ports are in network
/// order, as in the packet. The C struct's unions are one field each here, named after both uses: an IPv4 address is
/// element 0 of <see cref="Source"/>/<see cref="Destination"/> (as in C), the firewall mark for
/// <see cref="FibLookupFlags.Mark"/> goes into the first four bytes of <see cref="SourceMac"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct BpfFibLookup
{
    /// <summary>Input: the address family, <see cref="AddressFamilyInet"/> or <see cref="AddressFamilyInet6"/>.</summary>
    public byte Family;

    /// <summary>Input: the layer-4 protocol (for multipath hashing and policy rules).</summary>
    public byte L4Protocol;

    /// <summary>Input: source port, network order.</summary>
    public ushort SourcePortNetworkOrder;

    /// <summary>Input: destination port, network order.</summary>
    public ushort DestinationPortNetworkOrder;

    /// <summary>
    /// Input: the packet's length (IPv4 total length, or IPv6 payload length) for the MTU check, host order; output for
    /// <see cref="FibLookupResult.FragmentationNeeded"/>: the route's MTU.
    /// </summary>
    public ushort TotalLengthOrMtu;

    /// <summary>Input: the interface the packet arrived on; output: the interface to send it out of.</summary>
    public uint Ifindex;

    /// <summary>Input: the IPv4 type of service (low byte) or the IPv6 flow info (network order); output: the route's metric.</summary>
    public uint TosOrFlowInfo;

    /// <summary>The source address: IPv4 in element 0, IPv6 in all four (network order).</summary>
    public fixed uint Source[4];

    /// <summary>The destination address: IPv4 in element 0, IPv6 in all four (network order).</summary>
    public fixed uint Destination[4];

    /// <summary>
    /// Input with <see cref="FibLookupFlags.Direct"/> | <see cref="FibLookupFlags.TableId"/>: the routing table; output:
    /// the egress VLAN protocol (low 16 bits) and TCI (high 16 bits), network order.
    /// </summary>
    public uint TableIdOrVlan;

    /// <summary>Output: the egress interface's MAC address (the new Ethernet source). Input: the mark (first 4 bytes).</summary>
    public fixed byte SourceMac[6];

    /// <summary>Output: the next hop's MAC address (the new Ethernet destination).</summary>
    public fixed byte DestinationMac[6];

    /// <summary><c>AF_INET</c>.</summary>
    public const byte AddressFamilyInet = 2;

    /// <summary><c>AF_INET6</c>.</summary>
    public const byte AddressFamilyInet6 = 10;
}

/// <summary>Flags of <see cref="XdpContext.FibLookup"/> (<c>BPF_FIB_LOOKUP_*</c>).</summary>
[Flags]
public enum FibLookupFlags : uint
{
    None = 0,

    /// <summary>Look up the main table (or <see cref="BpfFibLookup.TableIdOrVlan"/>) directly, skipping the FIB rules.</summary>
    Direct = 1,

    /// <summary>Look up as for a packet leaving the host instead of one being forwarded.</summary>
    Output = 2,

    /// <summary>Do not resolve the next hop's MAC address (the result does not need a neighbour entry).</summary>
    SkipNeighbour = 4,

    /// <summary>With <see cref="Direct"/>: use the table in <see cref="BpfFibLookup.TableIdOrVlan"/>.</summary>
    TableId = 8,

    /// <summary>Also set the source address the route would use.</summary>
    Source = 16,

    /// <summary>Use the mark in the first 4 bytes of <see cref="BpfFibLookup.SourceMac"/> in the lookup.</summary>
    Mark = 32,
}

/// <summary>
/// What <see cref="XdpContext.FibLookup"/> returns: a <c>BPF_FIB_LKUP_RET_*</c> code, or a negative errno
/// (-EINVAL for bad flags, -EAFNOSUPPORT for another family).
/// </summary>
public enum FibLookupResult
{
    /// <summary>Forward: the output fields (interface, MACs) are set.</summary>
    Success = 0,
    Blackhole = 1,
    Unreachable = 2,
    Prohibit = 3,

    /// <summary>The packet is not forwarded (local delivery, broadcast, …): pass it to the stack.</summary>
    NotForwarded = 4,

    /// <summary>Forwarding is disabled on the ingress interface.</summary>
    ForwardingDisabled = 5,
    UnsupportedLwt = 6,

    /// <summary>The next hop has no neighbour entry yet: pass the packet so the stack resolves it.</summary>
    NoNeighbour = 7,

    /// <summary>The packet is larger than the route's MTU (see <see cref="BpfFibLookup.TotalLengthOrMtu"/>).</summary>
    FragmentationNeeded = 8,
    NoSourceAddress = 9,
}

/// <summary>
/// Answers <see cref="XdpContext.FibLookup"/> when a program runs in .NET: it reads the question from
/// <paramref name="parameters"/>, writes the answer there and returns the result code.
/// </summary>
public delegate FibLookupResult FibLookupSimulator(ref BpfFibLookup parameters, FibLookupFlags flags);

public sealed unsafe partial class XdpContext
{
    private const FibLookupFlags KnownFibFlags = FibLookupFlags.Direct | FibLookupFlags.Output | FibLookupFlags.SkipNeighbour
        | FibLookupFlags.TableId | FibLookupFlags.Source | FibLookupFlags.Mark;

    /// <summary>
    /// What <see cref="FibLookup"/> does in .NET, for every context of this thread: there is no routing table to ask, so
    /// a test sets one (for example a small table of routes). When null, every lookup answers
    /// <see cref="FibLookupResult.NotForwarded"/>, the answer for a host that routes nothing.
    /// </summary>
    [field: ThreadStatic]
    public static FibLookupSimulator? FibLookupSimulator { get; set; }

    /// <summary>
    /// <c>bpf_fib_lookup</c>: asks the kernel's routing table (and neighbour table) where a packet with the addresses in
    /// <paramref name="parameters"/> would go, as forwarding would. On <see cref="FibLookupResult.Success"/> the
    /// egress interface, MAC addresses and VLAN are written back into it, ready for a rewrite and
    /// <see cref="Bpf.Redirect"/>. GPL-only: the object's license must be GPL-compatible. In .NET,
    /// <see cref="FibLookupSimulator"/> answers; bad flags give -EINVAL and a family other than IPv4/IPv6
    /// -EAFNOSUPPORT, as in the kernel.
    /// </summary>
    [BpfHelper(69, GplOnly = true, SizeOfPointeeAfter = 0)]
    public FibLookupResult FibLookup(BpfFibLookup* parameters, FibLookupFlags flags)
    {
        if ((flags & ~KnownFibFlags) != 0)
            return (FibLookupResult)(-22);
        if (parameters->Family is not (BpfFibLookup.AddressFamilyInet or BpfFibLookup.AddressFamilyInet6))
            return (FibLookupResult)(-97);
        return FibLookupSimulator is { } simulator ? simulator(ref *parameters, flags) : FibLookupResult.NotForwarded;
    }
}

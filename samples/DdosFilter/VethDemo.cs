using System.Net;
using System.Text;
using XdpCompiler.Runtime;
using XdpCompiler.Samples.DdosFilter.Network;

namespace XdpCompiler.Samples.DdosFilter;

/// <summary>How much traffic the veth demo sends, and how it attaches the filter.</summary>
public sealed record VethDemoOptions
{
    public int UdpDatagrams { get; init; } = 20;

    public int TcpConnections { get; init; } = 4;

    public int IcmpEchoRequests { get; init; } = 4;

    /// <summary>Native (the default) falls back to generic where the veth driver refuses; Generic and Auto are asked for as they are.</summary>
    public XdpMode Mode { get; init; } = XdpMode.Native;

    /// <summary>How long to wait for one TCP connection, one echo reply, or the first datagram to arrive.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How long the host keeps listening for UDP datagrams the filter should have dropped.</summary>
    public TimeSpan UdpGrace { get; init; } = TimeSpan.FromMilliseconds(300);
}

/// <summary>What the veth demo saw. <see cref="Succeeded"/> is the demo's verdict; <see cref="Problems"/> says what went wrong.</summary>
public sealed record VethDemoResult(
    VethPair Network,
    uint ProgramId,
    XdpAttachedMode AttachedMode,
    string? NativeRefusal,
    bool UdpProbeArrivedWithoutFilter,
    int UdpSent,
    int UdpArrived,
    int TcpAttempted,
    int TcpConnected,
    int TcpCompleted,
    int IcmpSent,
    int IcmpAnswered,
    FilterCounters Counters,
    IReadOnlyList<string> CleanupFailures)
{
    /// <summary>
    /// The least the filter must have passed: each echo request, and per TCP connection at least the SYN, the
    /// handshake's ACK and the segment carrying the greeting or the FIN. ARP and the rest of TCP add to it.
    /// </summary>
    public ulong MinimumPassed => (ulong)(IcmpSent + 3 * TcpAttempted);

    /// <summary>No datagram reached the host, and the map counted exactly the ones sent (nothing else sends IPv4 UDP on the pair).</summary>
    public bool UdpDropped => UdpArrived == 0 && Counters.Dropped == (ulong)UdpSent;

    public bool OthersPassed => TcpConnected == TcpAttempted && TcpCompleted == TcpAttempted && IcmpAnswered == IcmpSent
        && Counters.Passed >= MinimumPassed;

    public bool Succeeded => UdpProbeArrivedWithoutFilter && UdpDropped && OthersPassed && CleanupFailures.Count == 0;

    public IReadOnlyList<string> Problems
    {
        get
        {
            var problems = new List<string>();
            if (!UdpProbeArrivedWithoutFilter)
                problems.Add("a UDP datagram sent before the filter was attached never arrived, so the path itself is broken (firewall? rp_filter?)");
            if (UdpArrived != 0)
                problems.Add($"{UdpArrived} of {UdpSent} UDP datagrams reached the host; the filter should have dropped them");
            if (Counters.Dropped != (ulong)UdpSent)
                problems.Add($"the filter counted {Counters.Dropped} drops for {UdpSent} UDP datagrams sent");
            if (TcpConnected != TcpAttempted || TcpCompleted != TcpAttempted)
                problems.Add($"only {TcpConnected} of {TcpAttempted} TCP connections were made and {TcpCompleted} delivered their greeting");
            if (IcmpAnswered != IcmpSent)
                problems.Add($"only {IcmpAnswered} of {IcmpSent} echo requests were answered (is net.ipv4.icmp_echo_ignore_all set?)");
            if (Counters.Passed < MinimumPassed)
                problems.Add($"the filter counted {Counters.Passed} passes, fewer than the {MinimumPassed} packets TCP and ICMP needed");
            problems.AddRange(CleanupFailures);
            return problems;
        }
    }

    /// <summary>What arrived and what the filter counted, as the demo prints it.</summary>
    public string Report()
    {
        var text = new StringBuilder();
        text.AppendLine($"Arrived on the host end ({Network.HostInterface} {Network.HostAddress}):");
        text.AppendLine($"  UDP   {UdpArrived,3} of {UdpSent} datagrams");
        text.AppendLine($"  TCP   {TcpConnected,3} of {TcpAttempted} connections accepted, {TcpCompleted} greetings received");
        text.AppendLine($"  ICMP  {IcmpAnswered,3} of {IcmpSent} echo requests answered");
        text.AppendLine($"The filter's counters (map {FilterLoader.CountersMapName}, summed over CPUs) while the traffic ran:");
        text.AppendLine($"  dropped {Counters.Dropped,4}   (the UDP datagrams)");
        text.Append($"  passed  {Counters.Passed,4}   (TCP segments, echo requests, ARP; at least {MinimumPassed} expected)");
        return text.ToString();
    }

    /// <summary>The one-line verdict, cleanup included.</summary>
    public string Verdict => Succeeded
        ? "OK: the filter dropped every UDP datagram and passed TCP and ICMP; everything the demo created is gone."
        : "FAILED: " + string.Join("; ", Problems) + ".";
}

/// <summary>
/// The end-to-end demo: a veth pair whose peer end sits in a private network namespace, the filter on the host end,
/// UDP, TCP and ICMP sent from the namespace to the host, and a check of what arrived against what the filter counted.
/// Everything it creates is undone before it returns, also when it fails or is cancelled.
/// </summary>
public static class VethDemo
{
    private const string ProbeTag = "probe";
    private const string FloodTag = "flood";

    /// <param name="cleanup">Where the demo registers its undo steps; pass one a signal handler can also run.</param>
    public static VethDemoResult Run(VethDemoOptions? options = null, TextWriter? log = null, Cleanup? cleanup = null, CancellationToken cancellationToken = default)
    {
        options ??= new VethDemoOptions();
        if (options.UdpDatagrams < 0 || options.TcpConnections < 0 || options.IcmpEchoRequests < 0 || options.IcmpEchoRequests > ushort.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(options), options, "Packet counts must be zero or more (at most 65535 echo requests).");
        log ??= TextWriter.Null;
        cleanup ??= new Cleanup();
        VethDemoResult result;
        var failures = new List<string>();
        VethPair? pair = null;
        try
        {
            result = RunSteps(options, log, cleanup, p => pair = p, cancellationToken);
            log.WriteLine(result.Report());
        }
        finally
        {
            // Reached on success, failure and cancellation alike; a failure here is reported, not thrown, so it
            // cannot hide the exception that brought us here.
            log.WriteLine("Cleaning up:");
            failures.AddRange(cleanup.RunAll(log));
            if (pair is { HostInterfaceExists: true })
                failures.Add($"interface {pair.HostInterface} still exists after cleanup");
            if (pair is { NamespaceExists: true })
                failures.Add($"network namespace {pair.Namespace} still exists after cleanup");
        }
        return result with { CleanupFailures = failures };
    }

    private static VethDemoResult RunSteps(VethDemoOptions options, TextWriter log, Cleanup cleanup, Action<VethPair> created, CancellationToken cancellationToken)
    {
        var pair = VethPair.Create(cleanup, cancellationToken);
        created(pair);
        log.WriteLine($"Created veth pair {pair.HostInterface} ({pair.HostAddress}/{VethPair.PrefixLength}) <-> {pair.PeerInterface} ({pair.PeerAddress}/{VethPair.PrefixLength}), the peer in network namespace {pair.Namespace}.");

        using var udp = new UdpSink(pair.HostAddress);
        using var tcp = new TcpSink(pair.HostAddress);
        var udpTarget = new IPEndPoint(pair.HostAddress, udp.Port);
        var tcpTarget = new IPEndPoint(pair.HostAddress, tcp.Port);

        // Without this, a broken path (a firewall, a routing clash) would look exactly like a working filter.
        NamespaceThread.Run(pair.Namespace, () => NamespaceSender.SendUdp(udpTarget, ProbeTag, 1));
        var probeArrived = udp.WaitFor(ProbeTag, 1, options.Timeout, cancellationToken);
        log.WriteLine(probeArrived
            ? "Before attaching: a UDP datagram from the namespace reached the host, so the path works."
            : "Before attaching: a UDP datagram from the namespace did NOT reach the host; the results below mean little.");

        var filter = FilterLoader.Load();
        cleanup.Add($"the filter's program {FilterLoader.ProgramName} and map {FilterLoader.CountersMapName}", filter.Dispose);
        var program = filter.Program(FilterLoader.ProgramName);
        var link = FilterLoader.Attach(filter, pair.HostInterface, options.Mode, out var nativeRefusal);
        cleanup.Add($"the XDP attachment on {pair.HostInterface}", link.Detach);
        var attached = link.Query().Mode;
        var programId = program.Id;
        log.WriteLine($"Attached {FilterLoader.ProgramName} (program id {programId}) to {pair.HostInterface} in {attached.ToString().ToLowerInvariant()} mode"
            + (nativeRefusal is null ? "." : $"; native mode was refused: {nativeRefusal}"));

        var before = FilterLoader.ReadCounters(filter);
        log.WriteLine($"Sending from {pair.Namespace} to {pair.HostAddress}: {options.UdpDatagrams} UDP datagrams (port {udp.Port}), "
            + $"{options.TcpConnections} TCP connections (port {tcp.Port}), {options.IcmpEchoRequests} ICMP echo requests.");
        var (connected, answered) = NamespaceThread.Run(pair.Namespace, () =>
        {
            NamespaceSender.SendUdp(udpTarget, FloodTag, options.UdpDatagrams);
            var tcpConnected = NamespaceSender.ConnectTcp(tcpTarget, options.TcpConnections, options.Timeout, cancellationToken);
            var icmpAnswered = NamespaceSender.Ping(pair.HostAddress, options.IcmpEchoRequests, options.Timeout, cancellationToken);
            return (tcpConnected, icmpAnswered);
        });
        tcp.WaitForCompleted(connected, options.Timeout, cancellationToken);
        // The datagrams went out first; anything the filter let through would have arrived long before this.
        udp.WaitFor(FloodTag, Math.Max(1, options.UdpDatagrams), options.UdpGrace, cancellationToken);
        var counters = FilterLoader.ReadCounters(filter) - before;

        return new VethDemoResult(pair, programId, attached, nativeRefusal, probeArrived,
            options.UdpDatagrams, udp.Count(FloodTag),
            options.TcpConnections, connected, tcp.Completed,
            options.IcmpEchoRequests, answered,
            counters, []);
    }
}

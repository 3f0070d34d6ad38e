using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace XdpCompiler.Samples.DdosFilter.Network;

/// <summary>
/// A veth pair with its host end in this process's network namespace and its peer end in a private namespace made
/// for the demo. Addresses are one /30 of 198.18.0.0/15 (RFC 2544's benchmarking range, never routed on the
/// Internet) that no interface here already uses; names carry the process id, so parallel runs do not collide.
/// </summary>
public sealed record VethPair(string Namespace, string HostInterface, string PeerInterface, IPAddress HostAddress, IPAddress PeerAddress)
{
    public const int PrefixLength = 30;

    private static int s_sequence;

    /// <summary>
    /// Creates the namespace and the pair, IPv6 off on both ends (so only the demo's traffic crosses it), addresses
    /// on, links up. Every step registers its undo with <paramref name="cleanup"/> before it runs, so a
    /// failure or a signal halfway leaves nothing behind.
    /// </summary>
    public static VethPair Create(Cleanup cleanup, CancellationToken cancellationToken = default)
    {
        var pair = Choose();
        // Each undo is registered before its step runs: a signal also kills the ip command it is waiting for, which
        // may have got halfway. So the undo steps check what exists rather than trust what succeeded.
        cleanup.Add($"network namespace {pair.Namespace}", () =>
        {
            if (pair.NamespaceExists)
                IpCommand.Run("netns", "delete", pair.Namespace);
        });
        IpCommand.Run("netns", "add", pair.Namespace);

        // Deleting one end of a veth pair deletes both; the namespace's deletion would also take the peer with it.
        cleanup.Add($"veth pair {pair.HostInterface} <-> {pair.PeerInterface}", () =>
        {
            if (pair.HostInterfaceExists)
                IpCommand.Run("link", "delete", pair.HostInterface);
        });
        IpCommand.Run("link", "add", pair.HostInterface, "type", "veth", "peer", "name", pair.PeerInterface, "netns", pair.Namespace);

        DisableIPv6(pair.HostInterface);
        NamespaceThread.Run(pair.Namespace, () => DisableIPv6(pair.PeerInterface));

        IpCommand.Run("address", "add", $"{pair.HostAddress}/{PrefixLength}", "dev", pair.HostInterface);
        IpCommand.Run("-n", pair.Namespace, "address", "add", $"{pair.PeerAddress}/{PrefixLength}", "dev", pair.PeerInterface);
        IpCommand.Run("-n", pair.Namespace, "link", "set", "lo", "up");
        IpCommand.Run("-n", pair.Namespace, "link", "set", pair.PeerInterface, "up");
        IpCommand.Run("link", "set", pair.HostInterface, "up");
        pair.WaitUntilUp(TimeSpan.FromSeconds(5), cancellationToken);
        return pair;
    }

    /// <summary>True while the host end exists (a check that cleanup removed it).</summary>
    public bool HostInterfaceExists => Directory.Exists(Path.Combine("/sys/class/net", HostInterface));

    /// <summary>True while the namespace exists.</summary>
    public bool NamespaceExists => File.Exists(NamespaceThread.HandlePath(Namespace));

    public override string ToString() => $"{HostInterface} {HostAddress}/{PrefixLength} <-> {PeerInterface} {PeerAddress}/{PrefixLength} in namespace {Namespace}";

    private static VethPair Choose()
    {
        var pid = Environment.ProcessId;
        var inUse = AddressesInUse();
        for (var attempt = 0; attempt < 256; attempt++)
        {
            var n = Interlocked.Increment(ref s_sequence);
            // Interface names have at most 15 characters: "dd" + pid (at most 7 digits) + one letter + the sequence.
            var name = new VethPair($"ddos-{pid}-{n}", $"dd{pid}h{n}", $"dd{pid}n{n}", IPAddress.None, IPAddress.None);
            if (name.HostInterfaceExists || name.NamespaceExists || Directory.Exists(Path.Combine("/sys/class/net", name.PeerInterface)))
                continue;
            // 198.18.0.0/15 holds 32768 /30 blocks; spread runs by pid so parallel runs rarely even try the same one.
            var block = (uint)(pid * 61 + n * 7) % 32768;
            var network = (198u << 24 | 18u << 16) + block * 4;
            if (inUse.Any(used => Overlaps(used.Network, used.Prefix, network, PrefixLength)))
                continue;
            return name with { HostAddress = ToAddress(network + 1), PeerAddress = ToAddress(network + 2) };
        }
        throw new InvalidOperationException("Found no free interface names and /30 block in 198.18.0.0/15 after 256 tries; remove stale ddos-* namespaces and dd* veth interfaces.");
    }

    private static List<(uint Network, int Prefix)> AddressesInUse() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Where(a => a.Address.AddressFamily == AddressFamily.InterNetwork)
            .Select(a => (FromAddress(a.Address), a.PrefixLength))
            .ToList();

    private static bool Overlaps(uint a, int prefixA, uint b, int prefixB)
    {
        var prefix = Math.Min(prefixA, prefixB);
        return prefix == 0 || a >> (32 - prefix) == b >> (32 - prefix);
    }

    private static uint FromAddress(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        return (uint)(bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3]);
    }

    private static IPAddress ToAddress(uint value) => new([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);

    private static void DisableIPv6(string interfaceName)
    {
        // /proc/sys/net shows the namespace of the thread that opens it, so the peer's is written from inside.
        var path = $"/proc/sys/net/ipv6/conf/{interfaceName}/disable_ipv6";
        if (File.Exists(path))
            File.WriteAllText(path, "1");
    }

    private void WaitUntilUp(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var operstate = Path.Combine("/sys/class/net", HostInterface, "operstate");
        var deadline = DateTime.UtcNow + timeout;
        while (File.ReadAllText(operstate).Trim() != "up")
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{HostInterface} did not come up within {timeout.TotalSeconds} s.");
            cancellationToken.WaitHandle.WaitOne(20);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }
}

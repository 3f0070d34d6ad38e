using System.Globalization;

namespace XdpCompiler.Samples.DdosFilter;

/// <summary>The Linux capabilities the demo needs, by their bit number in the capability sets.</summary>
public enum Capability
{
    NetAdmin = 12,
    NetRaw = 13,
    SysAdmin = 21,
    Bpf = 39,
}

/// <summary>A process's effective capability set, as <c>CapEff</c> in <c>/proc/self/status</c> shows it.</summary>
public readonly record struct CapabilitySet(ulong Bits)
{
    public bool Has(Capability capability) => (Bits & (1UL << (int)capability)) != 0;

    /// <summary>This process's effective set (what the kernel checks), or null where there is no procfs.</summary>
    public static CapabilitySet? Current()
    {
        try
        {
            return Parse(File.ReadAllText("/proc/self/status"));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Reads the <c>CapEff:</c> line of a <c>/proc/PID/status</c> text.</summary>
    public static CapabilitySet? Parse(string procStatus)
    {
        foreach (var line in procStatus.Split('\n'))
        {
            if (!line.StartsWith("CapEff:", StringComparison.Ordinal))
                continue;
            return ulong.TryParse(line["CapEff:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var bits)
                ? new CapabilitySet(bits)
                : null;
        }
        return null;
    }
}

/// <summary>Which capabilities each way of running the demo needs, and why.</summary>
public static class Privileges
{
    /// <summary>
    /// The missing capabilities, each with what it is needed for; empty when the demo can run. Loading a program needs
    /// CAP_BPF, which CAP_SYS_ADMIN also grants (the kernel's bpf_capable()); attaching XDP needs CAP_NET_ADMIN.
    /// The veth demo also creates and enters a network namespace (CAP_SYS_ADMIN) and sends ICMP from a raw socket
    /// (CAP_NET_RAW).
    /// </summary>
    public static IReadOnlyList<string> Missing(CapabilitySet capabilities, bool vethDemo)
    {
        var missing = new List<string>();
        if (!capabilities.Has(Capability.Bpf) && !capabilities.Has(Capability.SysAdmin))
            missing.Add("CAP_BPF: to create the Counters map and load xdp_drop_udp (CAP_SYS_ADMIN would also do)");
        if (!capabilities.Has(Capability.NetAdmin))
            missing.Add(vethDemo
                ? "CAP_NET_ADMIN: to create the veth pair and attach the filter to it"
                : "CAP_NET_ADMIN: to attach the filter to the interface");
        if (vethDemo && !capabilities.Has(Capability.SysAdmin))
            missing.Add("CAP_SYS_ADMIN: to create the private network namespace and send from inside it");
        if (vethDemo && !capabilities.Has(Capability.NetRaw))
            missing.Add("CAP_NET_RAW: to send ICMP echo requests from a raw socket");
        return missing;
    }
}

using System.Globalization;

namespace XdpCompiler.Runtime;

/// <summary>The capabilities bpf() checks, read from the process's effective set, to say which one an EPERM lacked.</summary>
internal static class Capabilities
{
    internal const int NetAdmin = 12;
    internal const int SysAdmin = 21;
    internal const int Perfmon = 38;
    internal const int Bpf = 39;

    private static string Name(int capability) => capability switch
    {
        NetAdmin => "CAP_NET_ADMIN",
        SysAdmin => "CAP_SYS_ADMIN",
        Perfmon => "CAP_PERFMON",
        Bpf => "CAP_BPF",
        _ => $"capability {capability}",
    };

    /// <summary>The effective set from a /proc/[pid]/status text; null when it has no CapEff line.</summary>
    internal static ulong? ParseEffective(string status)
    {
        foreach (var line in status.Split('\n'))
        {
            if (line.StartsWith("CapEff:", StringComparison.Ordinal)
                && ulong.TryParse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var set))
                return set;
        }
        return null;
    }

    private static ulong? Effective()
    {
        try
        {
            return ParseEffective(File.ReadAllText("/proc/self/status"));
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

    /// <summary>
    /// What to say about an EPERM from an operation that needs <paramref name="needed"/> (each satisfied by
    /// CAP_SYS_ADMIN too, as the kernel's bpf_capable() and bpf_net_capable() are).
    /// </summary>
    internal static string Explain(ulong? effective, params int[] needed)
    {
        var names = string.Join(" and ", needed.Select(Name));
        if (effective is not { } set)
            return $"This needs {names} (or CAP_SYS_ADMIN); run as root or grant them.";
        bool Has(int capability) => (set & (1UL << capability)) != 0;
        var missing = Has(SysAdmin) ? [] : needed.Where(c => !Has(c)).ToArray();
        if (missing.Length > 0)
            return $"The process lacks {string.Join(" and ", missing.Select(Name))} (needed: {names}, or CAP_SYS_ADMIN). Run as root, or grant them (e.g. setcap cap_bpf,cap_net_admin+ep, or systemd AmbientCapabilities=).";
        return $"The process has {names}, so something else refused: a security module (SELinux, AppArmor, lockdown), sysctl kernel.unprivileged_bpf_disabled, or on kernels before 5.11 the locked-memory limit (ulimit -l).";
    }

    internal static string Explain(params int[] needed) => Explain(Effective(), needed);
}

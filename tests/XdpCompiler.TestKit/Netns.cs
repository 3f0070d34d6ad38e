using System.Diagnostics;

namespace XdpCompiler.TestKit;

/// <summary>
/// A throwaway network namespace joined to the test's namespace by a veth pair: <see cref="HostInterface"/> stays
/// here, <see cref="PeerInterface"/> lives in <see cref="Name"/>. Both ends are up, with addresses from one /30 of
/// 198.18.0.0/15 (the benchmarking range, never routed). Names carry the process id and a counter, so parallel tests
/// and parallel test runs do not collide. Dispose removes the pair and the namespace, and creation cleans up after
/// itself when a step fails. Needs root and iproute2.
/// </summary>
public sealed class Netns : IDisposable
{
    private static int s_counter;
    private bool _disposed;

    private Netns(string name, string hostInterface, string peerInterface, string hostAddress, string peerAddress)
    {
        Name = name;
        HostInterface = hostInterface;
        PeerInterface = peerInterface;
        HostAddress = hostAddress;
        PeerAddress = peerAddress;
    }

    /// <summary>The namespace's name (as <c>ip netns list</c> shows it).</summary>
    public string Name { get; }

    /// <summary>The veth end in the test process's namespace.</summary>
    public string HostInterface { get; }

    /// <summary>The veth end inside the namespace.</summary>
    public string PeerInterface { get; }

    public string HostAddress { get; }

    public string PeerAddress { get; }

    public const int PrefixLength = 30;

    public static Netns Create()
    {
        var pid = Environment.ProcessId;
        var n = Interlocked.Increment(ref s_counter);
        // Interface names are at most 15 characters: "xt" + pid (≤ 6 hex digits) + counter + one letter.
        var stem = $"xt{pid:x}{n:x}";
        var subnet = (uint)((pid * 131 + n) % 32768);
        var network = (198u << 24) + (18u << 16) + subnet * 4; // 198.18.0.0 + one /30 of the /15
        var ns = new Netns($"xdpt-{pid}-{n}", stem + "h", stem + "p", FormatIPv4(network + 1), FormatIPv4(network + 2));
        try
        {
            Run("ip", "netns", "add", ns.Name);
            Run("ip", "link", "add", ns.HostInterface, "type", "veth", "peer", "name", ns.PeerInterface);
            Run("ip", "link", "set", ns.PeerInterface, "netns", ns.Name);
            Run("ip", "address", "add", $"{ns.HostAddress}/{PrefixLength}", "dev", ns.HostInterface);
            Run("ip", "link", "set", ns.HostInterface, "up");
            Run("ip", "-n", ns.Name, "address", "add", $"{ns.PeerAddress}/{PrefixLength}", "dev", ns.PeerInterface);
            Run("ip", "-n", ns.Name, "link", "set", ns.PeerInterface, "up");
            Run("ip", "-n", ns.Name, "link", "set", "lo", "up");
            return ns;
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    /// <summary>Runs a command inside the namespace; throws with its output when it exits non-zero.</summary>
    public string Exec(string command, params string[] args) => Run("ip", ["netns", "exec", Name, command, .. args]);

    /// <summary>Runs a command inside the namespace and returns its exit code and output.</summary>
    public CommandResult TryExec(string command, params string[] args) => TryRun("ip", ["netns", "exec", Name, command, .. args]);

    /// <summary>Runs a command in the test's own namespace; throws with its output when it exits non-zero.</summary>
    public static string Run(string command, params string[] args)
    {
        var result = TryRun(command, args);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"`{result.CommandLine}` exited with {result.ExitCode}: {result.Error.Trim()} {result.Output.Trim()}".TrimEnd());
        return result.Output;
    }

    public static CommandResult TryRun(string command, params string[] args)
    {
        var start = new ProcessStartInfo(command)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {command}.");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(30_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{command} {string.Join(' ', args)}` did not finish in 30 s.");
        }
        return new CommandResult(process.ExitCode, output, error.GetAwaiter().GetResult(), $"{command} {string.Join(' ', args)}");
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        // Deleting either veth end deletes both; deleting the namespace would too, but do both in case one step of
        // creation failed before the peer moved.
        TryRun("ip", "link", "delete", HostInterface);
        TryRun("ip", "netns", "delete", Name);
    }

    public override string ToString() => $"netns {Name}: {HostInterface} {HostAddress} <-> {PeerInterface} {PeerAddress}";

    private static string FormatIPv4(uint address) => $"{address >> 24}.{(address >> 16) & 255}.{(address >> 8) & 255}.{address & 255}";
}

public sealed record CommandResult(int ExitCode, string Output, string Error, string CommandLine);

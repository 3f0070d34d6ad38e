using System.Diagnostics;

namespace XdpCompiler.Samples.DdosFilter.Network;

/// <summary>Runs iproute2's <c>ip</c>: the demo's network setup is the same commands a person would type.</summary>
public static class IpCommand
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>The path of <c>ip</c> on PATH (or in /usr/sbin, /sbin, which a non-login root shell may lack), or null.</summary>
    public static string? Locate()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
            .Select(dir => Path.Combine(dir, "ip"))
            .FirstOrDefault(File.Exists);
    }

    /// <summary>Runs <c>ip ARGS</c>; throws with the command line and ip's own message when it fails.</summary>
    public static string Run(params string[] args)
    {
        var (exitCode, output, error) = TryRun(args);
        if (exitCode > 128)
            // Ctrl+C in a terminal (and `timeout`) signals the whole process group, ip included.
            throw new InvalidOperationException($"`ip {string.Join(' ', args)}` was killed by signal {exitCode - 128}.");
        if (exitCode != 0)
            throw new InvalidOperationException($"`ip {string.Join(' ', args)}` failed (exit code {exitCode}): {error.Trim()}");
        return output;
    }

    public static (int ExitCode, string Output, string Error) TryRun(params string[] args)
    {
        var ip = Locate() ?? throw new InvalidOperationException("The demo needs iproute2's `ip` command (apt-get install iproute2).");
        var start = new ProcessStartInfo(ip)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {ip}.");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`ip {string.Join(' ', args)}` did not finish in {Timeout.TotalSeconds} s.");
        }
        return (process.ExitCode, output.GetAwaiter().GetResult(), error.GetAwaiter().GetResult());
    }
}

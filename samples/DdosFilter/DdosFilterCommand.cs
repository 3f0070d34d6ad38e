using XdpCompiler.Runtime;
using XdpCompiler.Samples.DdosFilter.Network;

namespace XdpCompiler.Samples.DdosFilter;

/// <summary>The command line: parses arguments, checks privilege, runs the veth demo or the interface monitor.</summary>
public static class DdosFilterCommand
{
    public const int Success = 0;
    public const int ChecksFailed = 1;
    public const int BadArguments = 2;
    public const int NotPermitted = 3;
    public const int Error = 4;
    public const int Interrupted = 130;

    public const string Usage = """
        Usage: DdosFilter [--interface NAME] [--mode native|generic|auto]
               dotnet run --project samples/DdosFilter [-- OPTIONS]

        The XDP paper's inline DDoS filter (section 5.1), written in C# (Filter.cs) and compiled to eBPF at build time:
        it drops every IPv4 UDP packet, passes everything else, and counts both in the per-CPU array map Counters.

        Without --interface, the end-to-end demo: creates a veth pair with one end in a private network namespace
        (addresses from 198.18.0.0/15), attaches the filter to the host end, sends UDP datagrams, TCP connections and
        ICMP echo requests from the namespace, reports what arrived and what the filter counted, and removes
        everything it created (also on Ctrl+C and on errors).

        Options:
          --interface NAME   attach to an existing interface instead; print the counters every second until Ctrl+C,
                             then detach
          --mode MODE        native (the default; falls back to generic where the driver refuses it), generic, or
                             auto (the kernel chooses)
          -h, --help         show this help

        Needs root, or CAP_BPF and CAP_NET_ADMIN (the demo also CAP_SYS_ADMIN and CAP_NET_RAW).
        Exit codes: 0 success; 1 the demo's checks failed; 2 bad arguments; 3 missing privilege or tool;
                    4 error; 130 interrupted.
        """;

    /// <summary>Parsed arguments.</summary>
    public sealed record Options(string? InterfaceName, XdpMode Mode, bool Help);

    /// <summary>Parses <paramref name="args"/>; null and a message in <paramref name="error"/> when they are wrong.</summary>
    public static Options? Parse(IReadOnlyList<string> args, out string? error)
    {
        error = null;
        string? interfaceName = null;
        var mode = XdpMode.Native;
        var help = false;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "-h" or "--help" or "-?":
                    help = true;
                    break;
                case "--interface" or "-i":
                    if (i + 1 >= args.Count || args[i + 1].StartsWith('-'))
                    {
                        error = "--interface needs an interface name.";
                        return null;
                    }
                    interfaceName = args[++i];
                    if (interfaceName.Length > 15 || interfaceName.Contains('/') || string.IsNullOrWhiteSpace(interfaceName))
                    {
                        error = $"'{interfaceName}' is not an interface name (at most 15 characters, no '/').";
                        return null;
                    }
                    break;
                case "--mode" or "-m":
                    if (i + 1 >= args.Count)
                    {
                        error = "--mode needs native, generic or auto.";
                        return null;
                    }
                    var value = args[++i];
                    switch (value.ToLowerInvariant())
                    {
                        case "native" or "drv":
                            mode = XdpMode.Native;
                            break;
                        case "generic" or "skb":
                            mode = XdpMode.Generic;
                            break;
                        case "auto":
                            mode = XdpMode.Auto;
                            break;
                        default:
                            error = $"Unknown mode '{value}': use native, generic or auto.";
                            return null;
                    }
                    break;
                default:
                    error = $"Unknown argument '{args[i]}'.";
                    return null;
            }
        }
        return new Options(interfaceName, mode, help);
    }

    /// <param name="capabilities">The effective capabilities to check; null reads this process's own.</param>
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter errors, Cleanup cleanup,
        CancellationToken cancellationToken, CapabilitySet? capabilities = null)
    {
        var options = Parse(args, out var parseError);
        if (options is null)
        {
            errors.WriteLine($"DdosFilter: {parseError}");
            errors.WriteLine("Run with --help for usage.");
            return BadArguments;
        }
        if (options.Help)
        {
            output.WriteLine(Usage);
            return Success;
        }

        var vethDemo = options.InterfaceName is null;
        if (!OperatingSystem.IsLinux())
        {
            errors.WriteLine("DdosFilter: XDP needs Linux.");
            return NotPermitted;
        }
        capabilities ??= CapabilitySet.Current();
        if (capabilities is { } caps && Privileges.Missing(caps, vethDemo) is { Count: > 0 } missing)
        {
            errors.WriteLine($"DdosFilter: not enough privilege (effective capabilities 0x{caps.Bits:x16}). Missing:");
            foreach (var line in missing)
                errors.WriteLine($"  {line}");
            errors.WriteLine("Run it as root, e.g. sudo dotnet run --project samples/DdosFilter");
            return NotPermitted;
        }
        if (vethDemo && IpCommand.Locate() is null)
        {
            errors.WriteLine("DdosFilter: the demo needs iproute2's `ip` command to create the namespace and the veth pair (apt-get install iproute2).");
            return NotPermitted;
        }

        try
        {
            return vethDemo
                ? RunDemo(options, output, cleanup, cancellationToken)
                : RunMonitor(options, output, cleanup, cancellationToken);
        }
        catch (Exception e) when (e is OperationCanceledException || cancellationToken.IsCancellationRequested)
        {
            // A signal also reaches the ip commands in our process group, so an interrupted run can end in their error.
            errors.WriteLine("DdosFilter: interrupted; everything it created has been removed."
                + (e is OperationCanceledException ? "" : $" (It stopped at: {e.Message})"));
            return Interrupted;
        }
        catch (BpfException e)
        {
            errors.WriteLine($"DdosFilter: {e.Message}");
            if (e is BpfVerifierException verifier)
                errors.WriteLine(verifier.Log);
            return Error;
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or TimeoutException or UnauthorizedAccessException
                                      or System.Net.Sockets.SocketException or KeyNotFoundException)
        {
            errors.WriteLine($"DdosFilter: {e.Message}");
            return Error;
        }
    }

    private static int RunDemo(Options options, TextWriter output, Cleanup cleanup, CancellationToken cancellationToken)
    {
        output.WriteLine("DdosFilter demo: drop IPv4 UDP, pass the rest, on a veth pair with its peer in a private network namespace.");
        var result = VethDemo.Run(new VethDemoOptions { Mode = options.Mode }, output, cleanup, cancellationToken);
        output.WriteLine(result.Verdict);
        return result.Succeeded ? Success : ChecksFailed;
    }

    private static int RunMonitor(Options options, TextWriter output, Cleanup cleanup, CancellationToken cancellationToken)
    {
        InterfaceMonitor.Run(options.InterfaceName!, options.Mode, output, TimeSpan.FromSeconds(1), cleanup, cancellationToken);
        return Success;
    }
}

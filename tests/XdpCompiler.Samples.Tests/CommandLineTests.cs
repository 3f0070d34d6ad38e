using System.Diagnostics;
using XdpCompiler.Runtime;
using XdpCompiler.Samples.DdosFilter;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Samples.Tests;

public sealed class CommandLineTests
{
    private static readonly CapabilitySet s_none = new(0);

    private static CapabilitySet With(params Capability[] capabilities) =>
        new(capabilities.Aggregate(0UL, (bits, c) => bits | 1UL << (int)c));

    private static (int ExitCode, string Output, string Errors) Run(CapabilitySet? capabilities, params string[] args)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        var exitCode = DdosFilterCommand.Run(args, output, errors, new Cleanup(), CancellationToken.None, capabilities);
        return (exitCode, output.ToString(), errors.ToString());
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public void Help_prints_usage_and_succeeds(string flag)
    {
        var (exitCode, output, errors) = Run(s_none, flag);

        Assert.Equal(DdosFilterCommand.Success, exitCode);
        Assert.Contains("--interface NAME", output);
        Assert.Contains("198.18.0.0/15", output);
        Assert.Equal("", errors);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--interface")]
    [InlineData("--interface", "--mode")]
    [InlineData("--interface", "a-name-far-too-long-for-linux")]
    [InlineData("--mode", "fast")]
    [InlineData("--mode")]
    public void Bad_arguments_exit_2_with_a_message(params string[] args)
    {
        var (exitCode, output, errors) = Run(s_none, args);

        Assert.Equal(DdosFilterCommand.BadArguments, exitCode);
        Assert.StartsWith("DdosFilter: ", errors);
        Assert.Contains("--help", errors);
        Assert.Equal("", output);
    }

    [Fact]
    public void Options_parse()
    {
        var options = DdosFilterCommand.Parse(["--interface", "eth0", "--mode", "generic"], out var error);

        Assert.Null(error);
        Assert.Equal(new DdosFilterCommand.Options("eth0", XdpMode.Generic, false), options);
        Assert.Equal(new DdosFilterCommand.Options(null, XdpMode.Native, false), DdosFilterCommand.Parse([], out _));
        Assert.Equal(XdpMode.Auto, DdosFilterCommand.Parse(["--mode", "auto"], out _)!.Mode);
    }

    [Fact]
    public void Without_any_capability_the_demo_names_each_one_it_lacks()
    {
        var (exitCode, output, errors) = Run(s_none);

        Assert.Equal(DdosFilterCommand.NotPermitted, exitCode);
        Assert.Contains("not enough privilege", errors);
        foreach (var capability in new[] { "CAP_BPF:", "CAP_NET_ADMIN:", "CAP_SYS_ADMIN:", "CAP_NET_RAW:" })
            Assert.Contains(capability, errors);
        Assert.Equal("", output);
    }

    [Fact]
    public void Attaching_to_an_interface_without_CAP_BPF_names_only_CAP_BPF()
    {
        var (exitCode, _, errors) = Run(With(Capability.NetAdmin, Capability.NetRaw), "--interface", "lo");

        Assert.Equal(DdosFilterCommand.NotPermitted, exitCode);
        Assert.Contains("CAP_BPF:", errors);
        Assert.DoesNotContain("CAP_NET_ADMIN", errors);
        Assert.DoesNotContain("CAP_SYS_ADMIN:", errors);
    }

    [Fact]
    public void Attaching_to_an_interface_without_CAP_NET_ADMIN_names_only_CAP_NET_ADMIN()
    {
        var (exitCode, _, errors) = Run(With(Capability.Bpf), "--interface", "lo");

        Assert.Equal(DdosFilterCommand.NotPermitted, exitCode);
        Assert.Contains("CAP_NET_ADMIN:", errors);
        Assert.DoesNotContain("CAP_BPF:", errors);
    }

    [Theory]
    [InlineData(false, new[] { Capability.Bpf, Capability.NetAdmin })]
    [InlineData(false, new[] { Capability.SysAdmin, Capability.NetAdmin })] // CAP_SYS_ADMIN stands in for CAP_BPF
    [InlineData(true, new[] { Capability.SysAdmin, Capability.NetAdmin, Capability.NetRaw })]
    public void These_capabilities_are_enough(bool vethDemo, Capability[] capabilities)
    {
        Assert.Empty(Privileges.Missing(With(capabilities), vethDemo));
    }

    [Fact]
    public void CapEff_is_read_from_proc_status()
    {
        const string status = "Name:\tDdosFilter\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t0000008000001000\n";

        var capabilities = CapabilitySet.Parse(status);

        Assert.Equal(new CapabilitySet(0x0000008000001000), capabilities);
        Assert.True(capabilities!.Value.Has(Capability.Bpf));
        Assert.True(capabilities.Value.Has(Capability.NetAdmin));
        Assert.False(capabilities.Value.Has(Capability.SysAdmin));
        Assert.Null(CapabilitySet.Parse("Name:\tx\n"));
    }

    /// <summary>
    /// The real program, started as root but with CAP_BPF, CAP_SYS_ADMIN and CAP_NET_ADMIN removed from its bounding
    /// set (so from its effective set): it must say so and exit non-zero, before touching the network.
    /// </summary>
    [KernelFact]
    public void The_program_without_privilege_says_which_capabilities_are_missing()
    {
        var setpriv = new[] { "/usr/bin/setpriv", "/bin/setpriv" }.FirstOrDefault(File.Exists);
        Assert.True(setpriv is not null, "setpriv (util-linux) is not installed.");
        var sample = typeof(Filter).Assembly.Location;

        var result = Netns.TryRun(setpriv!, "--bounding-set", "-bpf,-sys_admin,-net_admin", "--", DotnetHost(), "exec", sample, "--interface", "lo");

        Assert.Equal(DdosFilterCommand.NotPermitted, result.ExitCode);
        Assert.Contains("CAP_BPF:", result.Error);
        Assert.Contains("CAP_NET_ADMIN:", result.Error);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public void Cleanup_runs_each_step_once_last_first_and_survives_a_failing_step()
    {
        var cleanup = new Cleanup();
        var order = new List<string>();
        cleanup.Add("first", () => order.Add("first"));
        cleanup.Add("broken", () => throw new InvalidOperationException("stuck"));
        cleanup.Add("last", () => order.Add("last"));
        var log = new StringWriter();

        var failures = cleanup.RunAll(log);
        var again = cleanup.RunAll(log);

        Assert.Equal(["last", "first"], order);
        Assert.Equal(["could not remove broken: stuck"], failures);
        Assert.Empty(again);
        Assert.Equal(0, cleanup.Count);
    }

    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
            return host;
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
            return Environment.ProcessPath!;
        var root = Path.GetDirectoryName(typeof(object).Assembly.Location)!; // …/shared/Microsoft.NETCore.App/<version>
        var candidate = Path.GetFullPath(Path.Combine(root, "..", "..", "..", "dotnet"));
        return File.Exists(candidate) ? candidate : "dotnet";
    }
}

/// <summary>A link-attached program lives only as long as the process that owns the link.</summary>
public sealed class OwnerProcessTests
{
    [KernelFact]
    public void KillingTheOwningProcessDetachesTheProgram()
    {
        using var ns = Netns.Create();
        var sample = typeof(Filter).Assembly.Location;
        // Its output is not read (it prints counters every second); a pipe nobody reads would block it.
        var start = new System.Diagnostics.ProcessStartInfo(DotnetHost()) { UseShellExecute = false };
        foreach (var argument in new[] { "exec", sample, "--interface", ns.HostInterface, "--mode", "generic" })
            start.ArgumentList.Add(argument);
        using var owner = System.Diagnostics.Process.Start(start)!;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (XdpCompiler.Runtime.XdpQuery.Get(ns.HostInterface).ProgramId == 0)
            {
                Assert.False(owner.HasExited, $"the sample exited early with code {(owner.HasExited ? owner.ExitCode : 0)}");
                Assert.True(DateTime.UtcNow < deadline, "the sample did not attach within 30 s");
                Thread.Sleep(100);
            }
        }
        finally
        {
            owner.Kill(entireProcessTree: true);
            owner.WaitForExit();
        }

        // SIGKILL runs no cleanup: only the kernel closing the link's descriptor can have detached it.
        var until = DateTime.UtcNow.AddSeconds(10);
        while (XdpCompiler.Runtime.XdpQuery.Get(ns.HostInterface).ProgramId != 0 && DateTime.UtcNow < until)
            Thread.Sleep(100);
        Assert.Equal(0u, XdpCompiler.Runtime.XdpQuery.Get(ns.HostInterface).ProgramId);
    }

    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
            return host;
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
            return Environment.ProcessPath!;
        var root = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var candidate = Path.GetFullPath(Path.Combine(root, "..", "..", "..", "dotnet"));
        return File.Exists(candidate) ? candidate : "dotnet";
    }
}

using System.Net;
using System.Net.Sockets;
using System.Text;
using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime.Elf;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Generator.Tests;

/// <summary>
/// <c>[XdpRunConfig]</c>: the libxdp run config in the object, its diagnostics, and our programs in xdp-loader's
/// dispatcher beside programs built by clang.
/// </summary>
public sealed class RunConfigTests
{
    internal const string Source = """
        using XdpCompiler;

        public static partial class FirstChains
        {
            [XdpProgram("xdp_first_chain")]
            [XdpRunConfig(Priority = 10, ChainCallActions = [XdpAction.Pass])]
            public static XdpAction Run(XdpContext ctx) => XdpAction.Pass;
        }

        public static partial class FirstFinal
        {
            [XdpProgram("xdp_first_final")]
            [XdpRunConfig(Priority = 10, ChainCallActions = [])]
            public static XdpAction Run(XdpContext ctx) => XdpAction.Pass;
        }

        public static partial class Mixed
        {
            [XdpProgram("xdp_defaults")]
            [XdpRunConfig]
            public static XdpAction Defaults(XdpContext ctx) => XdpAction.Pass;

            [XdpProgram("xdp_unconfigured")]
            public static XdpAction Unconfigured(XdpContext ctx) => XdpAction.Pass;

            [XdpProgram("xdp_late", Section = "xdp.frags")]
            [XdpRunConfig(Priority = 2000000000, ChainCallActions = new[] { XdpAction.Drop, XdpAction.Tx, XdpAction.Redirect, XdpAction.Aborted })]
            public static XdpAction Late(XdpContext ctx) => XdpAction.Drop;
        }
        """;

    [Fact]
    public void The_attribute_becomes_the_objects_run_config_with_libxdp_defaults_for_unset_values()
    {
        var objects = GeneratorHarness.Run(("/src/RunConfigs.cs", Source)).Objects;

        Assert.Equal([new BpfRunConfig("xdp_first_chain", 10, 1u << 2)], ElfObjectReader.Read(objects["FirstChains"], "FirstChains").RunConfigs.ToArray());
        Assert.Equal([new BpfRunConfig("xdp_first_final", 10, 0)], ElfObjectReader.Read(objects["FirstFinal"], "FirstFinal").RunConfigs.ToArray());
        Assert.Equal(
            [new BpfRunConfig("xdp_defaults", 50, 1u << 2), new BpfRunConfig("xdp_late", 2_000_000_000, 0b11011)],
            ElfObjectReader.Read(objects["Mixed"], "Mixed").RunConfigs.ToArray());
    }

    [Theory]
    [InlineData("[{|XDP0020:XdpRunConfig(Priority = -1)|}]", "Priority is -1")]
    [InlineData("[{|XDP0020:XdpRunConfig(ChainCallActions = [XdpAction.Pass, (XdpAction)7])|}]", "ChainCallActions contains 7, which is not an XDP action")]
    [InlineData("[{|XDP0020:XdpRunConfig(ChainCallActions = null)|}]", "ChainCallActions is null")]
    [InlineData("[XdpProgram(\"xdp_bad\", Section = \"xdp/devmap\")] [{|XDP0020:XdpRunConfig|}]", "section 'xdp/devmap'")]
    public void Bad_values_are_reported_at_the_attribute(string attributes, string message)
    {
        var (source, expected) = DiagnosticTests.Parse($$"""
            using XdpCompiler;
            public static partial class Bad
            {
                {{(attributes.Contains("XdpProgram", StringComparison.Ordinal) ? "" : "[XdpProgram(\"xdp_bad\")]")}}
                {{attributes}}
                public static XdpAction Run(XdpContext ctx) => XdpAction.Pass;
            }
            """);

        var run = GeneratorHarness.Run(("/src/Bad.cs", source));

        Assert.Equal(expected, run.Diagnostics.Select(d => (d.Id, d.Location.SourceSpan.Start, d.Location.SourceSpan.Length)).ToList());
        Assert.Contains(message, run.Diagnostics.Single().GetMessage(), StringComparison.Ordinal);
        Assert.Empty(run.Objects);
    }

    /// <summary>
    /// libxdp (through xdp-loader) reads the run configs of our objects, and runs our program in its dispatcher before
    /// a clang-built one by priority, going on to it only after the actions the run config names: with our program
    /// chaining on XDP_PASS the C program's XDP_DROP is the verdict, with no chain-call actions our XDP_PASS is.
    /// </summary>
    /// <remarks>
    /// The dispatcher attaches each program to one of its slots as an extension program (BPF_PROG_TYPE_EXT,
    /// freplace). A kernel that refuses to load those (EPERM before verification, as some hardened kernels do for
    /// every trampoline-based type) cannot run any dispatcher: xdp-loader then loads two C programs no better than
    /// ours. The test probes that with a pair of C programs and, where the kernel refuses, checks that ours fail the
    /// same way and no other, after libxdp has parsed their run configs.
    /// </remarks>
    [KernelToolFact("ip", "xdp-loader", "clang-19")]
    public void Xdp_loader_runs_our_program_and_a_c_program_in_its_dispatcher_by_priority_and_chain_call_actions()
    {
        using var directory = new TempDirectory();
        var objects = GeneratorHarness.Run(("/src/RunConfigs.cs", Source)).Objects;
        var chain = directory.File("FirstChains.o");
        var final = directory.File("FirstFinal.o");
        File.WriteAllBytes(chain, objects["FirstChains"]);
        File.WriteAllBytes(final, objects["FirstFinal"]);
        var cPass = CompileC(directory, "xdp_c_pass", priority: 10, "XDP_PASS");
        var cDrop = CompileC(directory, "xdp_c_drop", priority: 20, "XDP_DROP");
        using var ns = Netns.Create();
        // xdp-loader runs in this namespace on the host end of the pair, so libxdp keeps its dispatcher state in the
        // bpffs at /sys/fs/bpf, which `ip netns exec` would hide (it mounts a fresh /sys), and the traffic comes from
        // the namespace.
        var device = ns.HostInterface;
        Assert.True(Delivered(ns), "a datagram from the namespace did not arrive before any program was attached");
        try
        {
            var probe = Load(device, cPass, cDrop);
            Unload(device);
            if (probe.ExitCode != 0)
            {
                const string kernelRefuses = "the kernel does not support the features needed";
                Assert.Contains(kernelRefuses, Text(probe).Replace("\n", " ", StringComparison.Ordinal), StringComparison.Ordinal);
                var ours = Load(device, chain, cDrop);
                Unload(device);
                Assert.Contains("XDP program 0: Run prio: 10. Chain call actions: XDP_PASS\n", Text(ours), StringComparison.Ordinal);
                Assert.Contains("XDP program 1: Run prio: 20. Chain call actions: XDP_PASS\n", Text(ours), StringComparison.Ordinal);
                Assert.Equal(probe.ExitCode, ours.ExitCode);
                Assert.Contains(kernelRefuses, Text(ours).Replace("\n", " ", StringComparison.Ordinal), StringComparison.Ordinal);
                var ourFinal = Load(device, final, cDrop);
                Unload(device);
                Assert.Contains("XDP program 0: Run prio: 10. Chain call actions: \n", Text(ourFinal), StringComparison.Ordinal);
                return;
            }

            // Listed in the order given, not by priority: the dispatcher must sort them.
            var chained = Load(device, cDrop, chain);
            Assert.True(chained.ExitCode == 0, Text(chained));
            var status = Tools.Run("xdp-loader", "status", device).Output;
            var first = status.IndexOf("xdp_first_chain", StringComparison.Ordinal);
            var second = status.IndexOf("xdp_c_drop", StringComparison.Ordinal);
            Assert.True(first >= 0 && second > first, status);
            Assert.Matches(@"\s10\s+xdp_first_chain\s.*XDP_PASS", status);
            Assert.Matches(@"\s20\s+xdp_c_drop\s.*XDP_PASS", status);
            Assert.False(Delivered(ns), "our program chained on XDP_PASS, so the C program's XDP_DROP should have been the verdict");
            Unload(device);

            var finalLoad = Load(device, cDrop, final);
            Assert.True(finalLoad.ExitCode == 0, Text(finalLoad));
            Assert.True(Delivered(ns), "our program's XDP_PASS chains on nothing, so it should have been the verdict");
        }
        finally
        {
            Unload(device);
        }
    }

    private static CommandResult Load(string device, params string[] objects) =>
        Netns.TryRun(Tools.Find("xdp-loader")!, ["load", "-v", "-m", "skb", device, .. objects]);

    private static void Unload(string device) => Netns.TryRun(Tools.Find("xdp-loader")!, "unload", "--all", device);

    private static string Text(CommandResult result) => $"exit {result.ExitCode}\n{result.Output}\n{result.Error}";

    /// <summary>Sends one UDP datagram from the namespace to the host end and says whether it arrived within a second.</summary>
    private static bool Delivered(Netns ns)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(ns.HostAddress), 0));
        socket.ReceiveTimeout = 1000;
        var port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        ns.Exec("bash", "-c", $"echo run-config > /dev/udp/{ns.HostAddress}/{port}");
        var buffer = new byte[64];
        try
        {
            var length = socket.Receive(buffer);
            return Encoding.ASCII.GetString(buffer, 0, length) == "run-config\n";
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
        {
            return false;
        }
    }

    /// <summary>A C program returning <paramref name="verdict"/>, with the run config libxdp's XDP_RUN_CONFIG macro writes.</summary>
    internal static string CompileC(TempDirectory directory, string name, int priority, string verdict)
    {
        var source = directory.File(name + ".c");
        File.WriteAllText(source, $$"""
            #include <linux/bpf.h>
            #define SEC(name) __attribute__((section(name), used))
            #define __uint(name, val) int (*name)[val]

            struct {
                __uint(priority, {{priority}});
                __uint(XDP_PASS, 1);
            } _{{name}} SEC(".xdp_run_config");

            SEC("xdp")
            int {{name}}(struct xdp_md *ctx) { return {{verdict}}; }

            char _license[] SEC("license") = "GPL";
            """);
        var output = directory.File(name + ".o");
        var multiarch = Directory.GetDirectories("/usr/include", "*-linux-gnu").Where(d => Directory.Exists(Path.Combine(d, "asm")));
        Tools.Run("clang-19", ["-O2", "-g", "-target", "bpf", .. multiarch.Select(d => "-I" + d), "-c", source, "-o", output]);
        return output;
    }
}

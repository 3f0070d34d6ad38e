using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using XdpCompiler.Runtime;
using XdpCompiler.Samples.DdosFilter;
using XdpCompiler.Samples.DdosFilter.Network;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Samples.Tests;

/// <summary>The sample end to end: real traffic through a veth pair, and the interface monitor.</summary>
public sealed class VethDemoTests
{
    [KernelFact]
    public void Veth_demo_drops_UDP_passes_TCP_and_ICMP_and_leaves_nothing_behind()
    {
        var log = new StringWriter();
        var options = new VethDemoOptions { UdpDatagrams = 25, TcpConnections = 3, IcmpEchoRequests = 3 };

        var result = VethDemo.Run(options, log);

        var context = $"{result.Verdict}\n--- demo log\n{log}";
        Assert.True(result.Succeeded, context);
        Assert.True(result.UdpProbeArrivedWithoutFilter, context);
        // veth has native XDP (since Linux 4.19); generic is the fallback only when the kernel says why.
        Assert.Equal(result.NativeRefusal is null ? XdpAttachedMode.Native : XdpAttachedMode.Generic, result.AttachedMode);
        Assert.Equal(0, result.UdpArrived);
        Assert.Equal(25UL, result.Counters.Dropped);
        Assert.Equal(3, result.TcpCompleted);
        Assert.Equal(3, result.IcmpAnswered);
        // Per connection the namespace sends SYN, ACK, data, FIN and the last ACK; a little room for ARP and a
        // retransmission, none for UDP counted as passed.
        Assert.InRange(result.Counters.Passed, result.MinimumPassed, (ulong)(3 + 6 * 3 + 4));

        AssertNothingLeft(result.Network, result.ProgramId);
    }

    /// <summary>Ctrl+C while the filter is attached and traffic is about to flow: the run stops and removes everything.</summary>
    [KernelFact]
    public void Veth_demo_cancelled_midway_removes_what_it_created()
    {
        using var cancel = new CancellationTokenSource();
        var log = new CancellingWriter("Attached ", cancel);
        var cleanup = new Cleanup();

        Assert.ThrowsAny<OperationCanceledException>(() => VethDemo.Run(new VethDemoOptions(), log, cleanup, cancel.Token));

        var text = log.ToString();
        var created = Regex.Match(text, @"Created veth pair (\S+) \(.*\) <-> (\S+) \(.*\), the peer in network namespace (\S+)\.");
        Assert.True(created.Success, text);
        Assert.Contains("removed the XDP attachment", text);
        Assert.Equal(0, cleanup.Count);
        var pair = new VethPair(created.Groups[3].Value, created.Groups[1].Value, created.Groups[2].Value, IPAddress.None, IPAddress.None);
        var programId = uint.Parse(Regex.Match(text, @"program id (\d+)").Groups[1].Value);
        AssertNothingLeft(pair, programId);
    }

    [KernelFact]
    public void Interface_monitor_attaches_reports_counters_and_detaches_when_cancelled()
    {
        using var ns = Netns.Create();
        using var cancel = new CancellationTokenSource();
        var output = new StringWriter();
        var synchronized = TextWriter.Synchronized(output);
        var monitor = Task.Run(() => InterfaceMonitor.Run(ns.HostInterface, XdpMode.Native, synchronized, TimeSpan.FromMilliseconds(100), null, cancel.Token));

        try
        {
            WaitUntil(() => XdpQuery.Get(ns.HostInterface).IsAttached || monitor.IsCompleted, "the filter to be attached");
            Assert.False(monitor.IsFaulted, monitor.Exception?.ToString());

            NamespaceThread.Run(ns.Name, () =>
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                for (var i = 0; i < 5; i++)
                    socket.SendTo(Encoding.ASCII.GetBytes($"datagram {i}"), new IPEndPoint(IPAddress.Parse(ns.HostAddress), 9));
            });
            WaitUntil(() => Regex.IsMatch(Read(output, synchronized), @"dropped\s+5 "), "a report of 5 drops");
        }
        finally
        {
            cancel.Cancel();
        }
        var result = monitor.GetAwaiter().GetResult();

        Assert.Equal(5UL, result.Counters.Dropped);
        Assert.True(result.Reports >= 1);
        Assert.Contains(result.AttachedMode, new[] { XdpAttachedMode.Native, XdpAttachedMode.Generic });
        Assert.Contains($"Attached {FilterLoader.ProgramName} (program id {result.ProgramId}) to {ns.HostInterface}", output.ToString());
        Assert.False(XdpQuery.Get(ns.HostInterface).IsAttached, "the filter is still attached after the monitor stopped");
    }

    /// <summary>The text so far; the synchronized writer locks on itself, so holding that lock excludes a half-written line.</summary>
    private static string Read(StringWriter output, TextWriter synchronized)
    {
        lock (synchronized)
            return output.ToString();
    }

    private static void AssertNothingLeft(VethPair pair, uint programId)
    {
        Assert.DoesNotContain(pair.Namespace, Netns.Run("ip", "netns", "list"));
        var links = Netns.Run("ip", "-o", "link", "show");
        Assert.DoesNotContain(pair.HostInterface + ":", links);
        Assert.DoesNotContain(pair.HostInterface + "@", links);
        Assert.False(pair.HostInterfaceExists);
        Assert.False(pair.NamespaceExists);
        // The kernel frees a program once its last reference (our fd, the link) is gone; that can lag a little.
        WaitUntil(() => Netns.TryRun("bpftool", "prog", "show", "id", programId.ToString()).ExitCode != 0, $"program {programId} to be unloaded");
    }

    private static void WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"Timed out after 10 s waiting for {what}.");
            Thread.Sleep(20);
        }
    }

    /// <summary>A log that presses Ctrl+C (cancels) when a line containing <paramref name="trigger"/> is written.</summary>
    private sealed class CancellingWriter(string trigger, CancellationTokenSource cancel) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value is not null && value.Contains(trigger, StringComparison.Ordinal))
                cancel.Cancel();
        }
    }
}

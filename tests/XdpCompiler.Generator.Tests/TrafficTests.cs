using XdpCompiler.Runtime;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Generator.Tests;

/// <summary>Real packets through a generated program attached to a veth pair: the program's verdict is what the wire sees.</summary>
public sealed class TrafficTests
{
    /// <summary>
    /// Sends one UDP datagram from the namespace to the host end and waits for an answer: prints "echo FROM PAYLOAD",
    /// or "refused" (ICMP port unreachable: the host's stack saw it) or "timeout".
    /// </summary>
    private const string Sender = """
        import socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # No UDP checksum: a veth leaves it to "hardware" (CHECKSUM_PARTIAL), which a frame sent back by XDP_TX skips.
        s.setsockopt(socket.SOL_SOCKET, 11, 1)  # SO_NO_CHECK
        s.bind((sys.argv[1], 40000))
        s.settimeout(2)
        s.connect((sys.argv[2], 7))
        s.send(b"ping-" + sys.argv[3].encode())
        try:
            data, source = s.recvfrom(100)
            print("echo %s:%d %s" % (source[0], source[1], data.decode()))
        except ConnectionRefusedError:
            print("refused")
        except socket.timeout:
            print("timeout")
        """;

    [KernelToolTheory("python3", "ip")]
    [InlineData(XdpMode.Generic)]
    [InlineData(XdpMode.Native)]
    public void UdpEchoAnswersFromTheDriverWithXdpTx(XdpMode mode)
    {
        using var ns = Netns.Create();
        using var directory = new TempDirectory();
        var objects = GeneratorHarness.Run(
            ("/src/UdpEcho.cs", GeneratorHarness.ProgramSource("UdpEcho")),
            ("/src/PassAll.cs", GeneratorHarness.ProgramSource("PassAll"))).Objects;
        if (mode == XdpMode.Native)
        {
            // A veth delivers XDP_TX frames to its peer only when the peer runs XDP in its driver too.
            File.WriteAllBytes(directory.File("pass.o"), objects["PassAll"]);
            Netns.Run("ip", "-n", ns.Name, "link", "set", "dev", ns.PeerInterface, "xdpdrv", "obj", directory.File("pass.o"), "sec", "xdp");
        }
        File.WriteAllText(directory.File("send.py"), Sender);
        string Send(string tag) => ns.Exec("python3", directory.File("send.py"), ns.PeerAddress, ns.HostAddress, tag).Trim();

        Assert.Equal("refused", Send("before"));   // nothing on the host answers port 7

        using var loaded = BpfObjectLoader.Load(objects["UdpEcho"], "UdpEcho");
        using (loaded.Program("xdp_udp_echo").Attach(ns.HostInterface, mode))
        {
            Assert.Equal($"echo {ns.HostAddress}:7 ping-1", Send("1"));
            Assert.Equal($"echo {ns.HostAddress}:7 ping-2", Send("2"));
            Assert.Equal(2UL, loaded.Map("Echoed").AsArray<ulong>()[0]);
        }

        Assert.Equal("refused", Send("after"));    // detached: the host's stack answers again
    }
}

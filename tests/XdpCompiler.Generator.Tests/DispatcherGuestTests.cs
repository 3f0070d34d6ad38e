using System.Text.RegularExpressions;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Generator.Tests;

/// <summary>
/// libxdp's dispatcher with our program in it, on a kernel that runs dispatchers: this machine's kernel refuses the
/// freplace programs a dispatcher is made of (see <see cref="RunConfigTests"/>), so the test boots Debian's stock
/// kernel in qemu and runs this machine's xdp-loader and iproute2 inside it.
/// </summary>
public sealed class DispatcherGuestTests
{
    private const string HostDispatcher = "/usr/lib/x86_64-linux-gnu/bpf/xdp-dispatcher.o";

    /// <summary>
    /// The guest's /init. Traffic is ping from a namespace to the host end of a veth pair whose ingress the
    /// dispatcher sits on; each phase loads two programs, prints xdp-loader's status, then one "@@" line with the
    /// load's exit code and whether the echo came back.
    /// </summary>
    private const string Init = """
        #!/bin/busybox sh
        /bin/busybox --install -s /bin
        export PATH=/bin
        mkdir -p /proc /sys /dev /run
        mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs dev /dev
        # libxdp keeps the dispatcher's state pinned here.
        mount -t bpf bpf /sys/fs/bpf
        echo "@@ kernel $(uname -r)"
        insmod /veth.ko
        ip=/usr/sbin/ip
        $ip netns add peer
        $ip link add host address 02:00:00:00:00:01 type veth peer name inner address 02:00:00:00:00:02 netns peer
        $ip addr add 198.18.0.1/24 dev host && $ip link set host up
        $ip -n peer addr add 198.18.0.2/24 dev inner && $ip -n peer link set inner up
        # Fixed neighbours: only the echo and its reply go through XDP, so one dropped ARP cannot decide a later phase.
        $ip neigh replace 198.18.0.2 lladdr 02:00:00:00:00:02 dev host nud permanent
        $ip -n peer neigh replace 198.18.0.1 lladdr 02:00:00:00:00:01 dev inner nud permanent
        traffic() { if $ip netns exec peer ping -c 1 -W 2 198.18.0.1 >/dev/null 2>&1; then echo delivered; else echo lost; fi; }
        echo "@@ none load=0 traffic=$(traffic)"
        phase() {
          name=$1; shift
          /usr/sbin/xdp-loader load -v -m skb host "$@" 2>&1; load=$?
          /usr/sbin/xdp-loader status host 2>&1
          echo "@@ $name load=$load traffic=$(traffic)"
          /usr/sbin/xdp-loader unload --all host 2>&1
        }
        # The C program is named first: the dispatcher, not the command line, must put ours before it.
        phase chain /xdp_c_drop.o /FirstChains.o
        phase final /xdp_c_drop.o /FirstFinal.o
        echo "@@ done"
        poweroff -f
        """;

    /// <summary>
    /// xdp-loader puts our program (priority 10) and a clang-built C program returning XDP_DROP (priority 20) into one
    /// dispatcher, ours first. With our run config chaining on XDP_PASS the C program runs next and drops the echo;
    /// with no chain-call actions our XDP_PASS ends the dispatcher and the echo comes back.
    /// </summary>
    [ToolFact("qemu-system-x86_64", "busybox", "apt-cache", "apt-get", "dpkg-deb", "ldd", "clang-19", "xdp-loader", "ip", HostDispatcher)]
    public void Xdp_loaders_dispatcher_on_a_stock_debian_kernel_runs_our_program_first_and_chains_by_its_run_config()
    {
        using var directory = new TempDirectory();
        var objects = GeneratorHarness.Run(("/src/RunConfigs.cs", RunConfigTests.Source)).Objects;
        var kernel = DebianGuest.Download(directory.Path, "drivers/net/veth.ko");

        var initramfs = new Initramfs();
        initramfs.AddFile("/init", System.Text.Encoding.ASCII.GetBytes(Init.ReplaceLineEndings("\n") + "\n"), executable: true);
        initramfs.AddProgram("/bin/busybox", Tools.Find("busybox")!);
        initramfs.AddProgram("/usr/sbin/ip", Tools.Find("ip")!);
        initramfs.AddProgram("/usr/sbin/xdp-loader", Tools.Find("xdp-loader")!);
        // xdp-loader has libxdp built in, which looks for its dispatcher where this machine's package put it.
        initramfs.AddHostFile(HostDispatcher, HostDispatcher);
        initramfs.AddHostFile("/veth.ko", kernel.Modules["drivers/net/veth.ko"]);
        initramfs.AddFile("/FirstChains.o", objects["FirstChains"]);
        initramfs.AddFile("/FirstFinal.o", objects["FirstFinal"]);
        initramfs.AddHostFile("/xdp_c_drop.o", RunConfigTests.CompileC(directory, "xdp_c_drop", priority: 20, "XDP_DROP"));
        var image = directory.File("initramfs.cpio");
        initramfs.Write(image);

        var console = DebianGuest.Boot(kernel, image, TimeSpan.FromSeconds(90));

        var phases = Phases(console);
        Assert.True(phases.Count == 4 && phases[^1].Name == "done", console);
        Assert.Contains($"@@ kernel {kernel.Release}\n", console, StringComparison.Ordinal);
        Assert.True(phases[0] is { Name: "none", Traffic: "delivered" }, "the echo did not come back before any program was attached:\n" + console);

        var chain = phases[1];
        Assert.True(chain.Load == "0", chain.Text);
        AssertDispatcherRunsInOrder(chain.Text, @"\s+10\s+xdp_first_chain\s+\d+\s+\w+\s+XDP_PASS\n", @"\s+20\s+xdp_c_drop\s+\d+\s+\w+\s+XDP_PASS\n");
        Assert.True(chain.Traffic == "lost", "our program chained on XDP_PASS, so the C program's XDP_DROP should have been the verdict:\n" + chain.Text);

        var final = phases[2];
        Assert.True(final.Load == "0", final.Text);
        AssertDispatcherRunsInOrder(final.Text, @"\s+10\s+xdp_first_final\s+\d+\s+\w+\s*\n", @"\s+20\s+xdp_c_drop\s+\d+\s+\w+\s+XDP_PASS\n");
        Assert.True(final.Traffic == "delivered", "our program's XDP_PASS chains on nothing, so it should have been the verdict:\n" + final.Text);
    }

    /// <summary>
    /// xdp-loader's status lists the dispatcher, then its programs in the order it runs them, each with the priority
    /// and chain-call actions the dispatcher holds. (Not `load -v`'s "Chain call actions" line: xdp-loader 1.3.1 prints
    /// the previous file's actions again for a program that has none, C or ours.)
    /// </summary>
    private static void AssertDispatcherRunsInOrder(string text, string first, string second)
    {
        var dispatcher = Regex.Match(text, @"^host\s+xdp_dispatcher\s+skb\s", RegexOptions.Multiline);
        var one = Regex.Match(text, @"^ =>" + first, RegexOptions.Multiline);
        var two = Regex.Match(text, @"^ =>" + second, RegexOptions.Multiline);
        Assert.True(dispatcher.Success && one.Success && two.Success && dispatcher.Index < one.Index && one.Index < two.Index, text);
    }

    private sealed record Phase(string Name, string Load, string Traffic, string Text);

    /// <summary>The "@@" lines in order, each with the console text since the one before it.</summary>
    private static List<Phase> Phases(string console)
    {
        var phases = new List<Phase>();
        var start = 0;
        foreach (Match line in Regex.Matches(console, @"^@@ (\w+)(?: load=(\d+) traffic=(\w+))?\n", RegexOptions.Multiline))
        {
            phases.Add(new Phase(line.Groups[1].Value, line.Groups[2].Value, line.Groups[3].Value, console[start..(line.Index + line.Length)]));
            start = line.Index + line.Length;
        }

        return phases;
    }
}

using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime;
using XdpCompiler.TestKit;
using Xunit;
using static XdpCompiler.Cli.Tests.CliHarness;

namespace XdpCompiler.Cli.Tests;

/// <summary>Commands that load into the real kernel.</summary>
public sealed class KernelTests
{
    [KernelFact]
    public void Verify_accepts_a_good_program_with_statistics()
    {
        using var temp = new TempDirectory();
        var path = Write(temp, SampleObjects.Counter());

        var result = Run("verify", path);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("xdp_count: OK (11 instructions", result.Output);
        Assert.Contains("verifier processed", result.Output);
    }

    [KernelFact]
    public void Verify_json_reports_ok_and_stats()
    {
        using var temp = new TempDirectory();
        var path = Write(temp, SampleObjects.Counter());

        var result = Run("verify", path, "--json");

        Assert.Equal(0, result.ExitCode);
        using var json = result.Json();
        Assert.True(json.RootElement.GetProperty("ok").GetBoolean());
        var program = json.RootElement.GetProperty("programs")[0];
        Assert.True(program.GetProperty("ok").GetBoolean());
        Assert.True(program.GetProperty("stats").GetProperty("processedInstructions").GetInt32() > 0);
    }

    [KernelFact]
    public void Verify_points_a_rejection_at_its_source_line_and_exits_1()
    {
        using var temp = new TempDirectory();
        var path = Write(temp, Unchecked());

        var result = Run("verify", path);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Unchecked.cs:8:13: error: xdp_unchecked: rejected by the verifier at instruction 1", result.Output);
        Assert.Contains("invalid access to packet", result.Output);
        Assert.Contains("source: byte first = *data;", result.Output);
        Assert.Contains("likely: a packet read or write the bounds checks do not cover", result.Output);
        Assert.DoesNotContain("verifier log:", result.Output);

        var withLog = Run("verify", path, "--log");
        Assert.Equal(1, withLog.ExitCode);
        Assert.Contains("verifier log:", withLog.Output);
        Assert.Contains("R2=pkt", withLog.Output);
    }

    [KernelFact]
    public void Verify_reports_each_program_and_json_carries_the_rejection()
    {
        using var temp = new TempDirectory();
        var obj = Unchecked() with { Programs = [SampleObjects.PassWithLine("xdp_good"), .. Unchecked().Programs] };
        var path = Write(temp, obj);

        var result = Run("verify", path, "--json", "--log");

        Assert.Equal(1, result.ExitCode);
        using var json = result.Json();
        Assert.False(json.RootElement.GetProperty("ok").GetBoolean());
        var programs = json.RootElement.GetProperty("programs");
        Assert.True(programs[0].GetProperty("ok").GetBoolean());
        var rejection = programs[1].GetProperty("rejection");
        Assert.Equal("Unchecked.cs", rejection.GetProperty("file").GetString());
        Assert.Equal(8, rejection.GetProperty("line").GetInt32());
        Assert.Equal(13, rejection.GetProperty("column").GetInt32());
        Assert.Contains("invalid access to packet", rejection.GetProperty("reason").GetString());
        Assert.NotNull(rejection.GetProperty("explanation").GetString());
        Assert.Contains("R2=pkt", rejection.GetProperty("log").GetString());
    }

    [KernelFact]
    public void Run_prints_the_action_and_the_packet()
    {
        using var temp = new TempDirectory();
        var path = Write(temp, SampleObjects.Counter());

        var result = Run("run", path, "--packet", PacketHex, "--repeat", "3");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("action:   XDP_PASS (2)", result.Output);
        Assert.Contains("(average of 3 runs)", result.Output);
        Assert.Contains(PacketHex[..32], result.Output);
    }

    [KernelFact]
    public void Run_json_parses()
    {
        using var temp = new TempDirectory();
        var path = Write(temp, SampleObjects.WithPrograms(SampleObjects.Pass("xdp_a"), SampleObjects.Pass("xdp_b")));

        var ambiguous = Run("run", path, "--packet", PacketHex);
        Assert.Equal(2, ambiguous.ExitCode);
        Assert.Contains("--program", ambiguous.Errors);

        var result = Run("run", path, "--program", "xdp_b", "--packet", PacketHex, "--json");

        Assert.Equal(0, result.ExitCode);
        using var json = result.Json();
        Assert.Equal("XDP_PASS", json.RootElement.GetProperty("action").GetString());
        Assert.Equal(2u, json.RootElement.GetProperty("returnValue").GetUInt32());
        Assert.Equal(PacketHex, json.RootElement.GetProperty("packet").GetString());
    }

    [KernelFact]
    public void Run_takes_an_ingress_interface_queue_and_metadata()
    {
        using var temp = new TempDirectory();
        using var ns = Netns.Create();
        var path = Write(temp, SampleObjects.WithPrograms(SampleObjects.Pass("xdp_a")));

        var result = Run("run", path, "--packet", PacketHex, "--ingress", ns.HostInterface, "--queue", "0", "--metadata", "01020304", "--json");

        Assert.True(result.ExitCode == 0, result.Errors);
        using var json = result.Json();
        Assert.Equal(4, json.RootElement.GetProperty("metadataLength").GetInt32());
        Assert.Equal("01020304" + PacketHex, json.RootElement.GetProperty("packet").GetString());
        var text = Run("run", path, "--packet", PacketHex, "--metadata", "0a0b0c0d");
        Assert.Contains("metadata: 4 bytes", text.Output);
        Assert.Contains("unchanged", text.Output);

        var queue = Run("run", path, "--packet", PacketHex, "--ingress", ns.HostInterface, "--queue", "5");
        Assert.Equal(1, queue.ExitCode);
        queue.AssertOneLineError();
        Assert.Contains("receive queue 5", queue.Errors);
        Assert.Equal(2, Run("run", path, "--packet", PacketHex, "--queue", "1").ExitCode);
        Assert.Equal(2, Run("run", path, "--packet", PacketHex, "--metadata", "010203").ExitCode);
    }

    [KernelFact]
    public void Run_names_an_unknown_program()
    {
        using var temp = new TempDirectory();
        var path = Write(temp, SampleObjects.Counter());

        var result = Run("run", path, "--program", "nope", "--packet", PacketHex);

        Assert.Equal(1, result.ExitCode);
        result.AssertOneLineError();
        Assert.Contains("no XDP program 'nope' (programs: xdp_count)", result.Errors);
    }

    [KernelFact]
    public void Attach_pins_a_link_that_list_shows_and_detach_removes()
    {
        using var temp = new TempDirectory();
        using var ns = Netns.Create();
        using var bpffs = new BpfFsDirectory();
        var path = Write(temp, SampleObjects.Counter());
        var pin = bpffs.Combine("link");
        try
        {
            var attach = Run("attach", path, "--interface", ns.HostInterface, "--mode", "generic", "--pin", pin, "--json");
            Assert.True(attach.ExitCode == 0, attach.Errors);
            using (var json = attach.Json())
            {
                Assert.Equal("generic", json.RootElement.GetProperty("mode").GetString());
                var programId = json.RootElement.GetProperty("programId").GetUInt32();
                // The process's objects are closed: only the pin keeps the program attached.
                Assert.Equal(programId, XdpQuery.Get(ns.HostInterface).ProgramId);
            }
            Assert.True(File.Exists(pin));

            var list = Run("list", "--json");
            Assert.Equal(0, list.ExitCode);
            using (var json = list.Json())
            {
                var row = json.RootElement.GetProperty("interfaces").EnumerateArray()
                    .Single(r => r.GetProperty("interface").GetString() == ns.HostInterface);
                Assert.Equal("generic", row.GetProperty("mode").GetString());
                Assert.Equal("xdp_count", row.GetProperty("program").GetString());
            }
            var text = Run("list", "--interface", ns.HostInterface);
            Assert.Contains("xdp_count", text.Output);

            var again = Run("attach", path, "--interface", ns.HostInterface, "--pin", pin);
            Assert.Equal(1, again.ExitCode);
            again.AssertOneLineError();
            Assert.Contains("already exists", again.Errors);

            var detach = Run("detach", "--pin", pin);
            Assert.True(detach.ExitCode == 0, detach.Errors);
            Assert.Contains("detached link", detach.Output);
            Assert.False(File.Exists(pin));
            Assert.False(XdpQuery.Get(ns.HostInterface).IsAttached);
            var after = Run("list", "--interface", ns.HostInterface, "--json");
            using (var json = after.Json())
                Assert.Equal("none", json.RootElement.GetProperty("interfaces")[0].GetProperty("mode").GetString());
        }
        finally
        {
            // A failed assertion must not leave the program attached (the namespace's deletion would also drop it).
            if (File.Exists(pin))
                Run("detach", "--pin", pin);
        }
    }

    [KernelFact]
    public void Detach_by_interface_finds_the_link()
    {
        using var temp = new TempDirectory();
        using var ns = Netns.Create();
        using var bpffs = new BpfFsDirectory();
        var path = Write(temp, SampleObjects.Counter());
        var pin = bpffs.Combine("link");

        Assert.Equal(0, Run("attach", path, "--interface", ns.HostInterface, "--mode", "generic", "--pin", pin).ExitCode);
        var detach = Run("detach", "--interface", ns.HostInterface, "--json");

        Assert.True(detach.ExitCode == 0, detach.Errors);
        using var json = detach.Json();
        Assert.Equal(ns.HostInterface, json.RootElement.GetProperty("detached")[0].GetProperty("interface").GetString());
        Assert.False(XdpQuery.Get(ns.HostInterface).IsAttached);

        var nothing = Run("detach", "--interface", ns.HostInterface);
        Assert.Equal(1, nothing.ExitCode);
        Assert.Contains("has no XDP program attached", nothing.Errors);
    }

    [KernelFact]
    public void Attach_by_netlink_stays_without_a_pin_and_detach_by_interface_removes_it()
    {
        using var temp = new TempDirectory();
        using var ns = Netns.Create();
        var path = Write(temp, SampleObjects.Counter());

        var attach = Run("attach", path, "--interface", ns.HostInterface, "--mode", "generic", "--netlink");
        Assert.True(attach.ExitCode == 0, attach.Errors);
        Assert.Contains("by netlink (generic mode)", attach.Output);
        // xdpc has exited: the interface itself holds the program.
        var attached = XdpQuery.Get(ns.HostInterface);
        Assert.Equal(XdpAttachedMode.Generic, attached.Mode);

        var again = Run("attach", path, "--interface", ns.HostInterface, "--mode", "generic", "--netlink", "--if-none");
        Assert.Equal(1, again.ExitCode);
        again.AssertOneLineError();
        Assert.Equal(attached.ProgramId, XdpQuery.Get(ns.HostInterface).ProgramId);

        var detach = Run("detach", "--interface", ns.HostInterface);
        Assert.True(detach.ExitCode == 0, detach.Errors);
        Assert.Contains($"detached program {attached.ProgramId} (attached by netlink) from {ns.HostInterface}", detach.Output);
        Assert.False(XdpQuery.Get(ns.HostInterface).IsAttached);
    }

    [KernelFact]
    public void Attach_offload_needs_netlink_and_a_driver_that_offloads()
    {
        using var temp = new TempDirectory();
        using var ns = Netns.Create();
        var path = Write(temp, SampleObjects.Counter());

        var withLink = Run("attach", path, "--interface", ns.HostInterface, "--mode", "offload", "--pin", "/sys/fs/bpf/unused");
        Assert.Equal(2, withLink.ExitCode);
        Assert.Contains("--mode offload works only with --netlink", withLink.Errors);

        var veth = Run("attach", path, "--interface", ns.HostInterface, "--mode", "offload", "--netlink");
        Assert.Equal(1, veth.ExitCode);
        veth.AssertOneLineError();
        Assert.Contains("offload", veth.Errors);
        Assert.False(XdpQuery.Get(ns.HostInterface).IsAttached);
    }

    [KernelFact]
    public void Attach_to_a_missing_interface_is_one_line()
    {
        using var temp = new TempDirectory();
        using var bpffs = new BpfFsDirectory();
        var path = Write(temp, SampleObjects.Counter());

        var result = Run("attach", path, "--interface", $"nx{Environment.ProcessId:x}", "--pin", bpffs.Combine("link"));

        Assert.Equal(1, result.ExitCode);
        result.AssertOneLineError();
        Assert.Contains("ENODEV", result.Errors);
    }

    [KernelFact]
    public void Map_dump_prints_a_pinned_map()
    {
        using var bpffs = new BpfFsDirectory();
        var pin = bpffs.Combine("flows");
        using (var map = LoadedMap.Create(new BpfMap("flows", BpfMapType.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 16)))
        {
            map.Update(BitConverter.GetBytes(7u), BitConverter.GetBytes(42UL));
            map.Pin(pin);
        }

        var text = Run("map", "dump", "--pin", pin);
        Assert.Equal(0, text.ExitCode);
        Assert.Contains("map flows", text.Output);
        Assert.Contains("07000000: 2a00000000000000", text.Output);

        var json = Run("map", "dump", "--pin", pin, "--json");
        Assert.Equal(0, json.ExitCode);
        using var document = json.Json();
        Assert.Equal("Hash", document.RootElement.GetProperty("type").GetString());
        Assert.Equal("2a00000000000000", document.RootElement.GetProperty("entries")[0].GetProperty("value").GetString());

        var missing = Run("map", "dump", "--pin", bpffs.Combine("nothing"));
        Assert.Equal(1, missing.ExitCode);
        missing.AssertOneLineError();
    }
    [KernelFact]
    public void Map_update_and_delete_edit_a_pinned_map()
    {
        using var bpffs = new BpfFsDirectory();
        var pin = bpffs.Combine("flows");
        using (var created = LoadedMap.Create(new BpfMap("flows", BpfMapType.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 2)))
            created.Pin(pin);

        var update = Run("map", "update", "--pin", pin, "--key", "07000000", "--value", "2a00000000000000");
        Assert.Equal(0, update.ExitCode);
        Assert.Contains("updated flows[07000000] = 2a00000000000000", update.Output);

        var again = Run("map", "update", "--pin", pin, "--key", "07000000", "--value", "2b00000000000000", "--flags", "noexist");
        Assert.Equal(1, again.ExitCode);
        again.AssertOneLineError();
        Assert.Contains("EEXIST", again.Errors);

        var replace = Run("map", "update", "--pin", pin, "--key", "0x07000000", "--value", "2b00000000000000", "--flags", "exist", "--json");
        Assert.Equal(0, replace.ExitCode);
        using (var json = replace.Json())
            Assert.Equal("exist", json.RootElement.GetProperty("flags").GetString());
        Assert.Contains("07000000: 2b00000000000000", Run("map", "dump", "--pin", pin).Output);

        Assert.Equal(0, Run("map", "update", "--pin", pin, "--key", "08000000", "--value", "0100000000000000").ExitCode);
        var full = Run("map", "update", "--pin", pin, "--key", "09000000", "--value", "0100000000000000");
        Assert.Equal(1, full.ExitCode);
        Assert.Contains("the map is full (2 entries)", full.Errors);

        var wrongSize = Run("map", "update", "--pin", pin, "--key", "0700", "--value", "2a00000000000000");
        Assert.Equal(2, wrongSize.ExitCode);
        Assert.Contains("4-byte keys; --key gave 2 bytes", wrongSize.Errors);
        Assert.Equal(2, Run("map", "update", "--pin", pin, "--key", "xyz0", "--value", "00").ExitCode);

        var delete = Run("map", "delete", "--pin", pin, "--key", "07000000");
        Assert.Equal(0, delete.ExitCode);
        Assert.Contains("deleted flows[07000000]", delete.Output);
        var missing = Run("map", "delete", "--pin", pin, "--key", "07000000");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("has no key 07000000", missing.Errors);
        Assert.DoesNotContain("07000000:", Run("map", "dump", "--pin", pin).Output);
    }

    [KernelFact]
    public void Map_update_writes_every_cpu_of_a_per_cpu_array()
    {
        using var bpffs = new BpfFsDirectory();
        var pin = bpffs.Combine("counters");
        using var map = LoadedMap.Create(new BpfMap("counters", BpfMapType.PerCpuArray, KeySize: 4, ValueSize: 8, MaxEntries: 1));
        map.Pin(pin);

        Assert.Equal(0, Run("map", "update", "--pin", pin, "--key", "00000000", "--value", "0500000000000000").ExitCode);

        Assert.Equal(5UL * (ulong)Environment.ProcessorCount, map.AsPerCpuArray<ulong>().Sum(0));
        var delete = Run("map", "delete", "--pin", pin, "--key", "00000000");
        Assert.Equal(1, delete.ExitCode);
        Assert.Contains("is an array", delete.Errors);
        var outOfRange = Run("map", "update", "--pin", pin, "--key", "01000000", "--value", "0500000000000000");
        Assert.Equal(1, outOfRange.ExitCode);
        Assert.Contains("array keys are indexes below 1", outOfRange.Errors);
    }

    [KernelToolFact("bpftool")]
    public void Load_pins_programs_and_maps_that_outlive_xdpc()
    {
        using var temp = new TempDirectory();
        using var bpffs = new BpfFsDirectory();
        var path = Write(temp, SampleObjects.Counter());
        var dir = bpffs.Combine("counter");

        var result = Run("load", path, "--pin-dir", dir, "--json");

        Assert.Equal(0, result.ExitCode);
        using var json = result.Json();
        var program = json.RootElement.GetProperty("programs")[0];
        Assert.Equal("xdp_count", program.GetProperty("name").GetString());
        Assert.True(File.Exists(Path.Combine(dir, "xdp_count")));
        var mapPin = json.RootElement.GetProperty("maps")[0].GetProperty("pin").GetString()!;
        Assert.Equal(Path.Combine(dir, "maps", "counters"), mapPin);

        // The pinned program is alive after xdpc returned: bpftool finds it by its pin.
        var show = Tools.Run("bpftool", "prog", "show", "pinned", Path.Combine(dir, "xdp_count")).Output;
        Assert.Contains("xdp_count", show);

        var again = Run("load", path, "--pin-dir", dir);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("is not empty", again.Errors);
    }

    [KernelFact]
    public void Load_that_the_verifier_rejects_pins_nothing()
    {
        using var temp = new TempDirectory();
        using var bpffs = new BpfFsDirectory();
        var path = Write(temp, Unchecked());
        var dir = bpffs.Combine("bad");

        var result = Run("load", path, "--pin-dir", dir);

        Assert.Equal(1, result.ExitCode);
        result.AssertOneLineError();
        Assert.False(Directory.Exists(dir));
    }
}

/// <summary>The runtime's errors for a loader without privilege, seen from a real process that lacks the capabilities.</summary>
public sealed class PrivilegeTests
{
    [KernelFact]
    public void LoadingWithoutCapabilitiesNamesTheMissingOnes()
    {
        var setpriv = new[] { "/usr/bin/setpriv", "/bin/setpriv" }.FirstOrDefault(File.Exists);
        Assert.True(setpriv is not null, "setpriv (util-linux) is not installed.");
        using var directory = new TempDirectory();
        var path = CliHarness.Write(directory, SampleObjects.Counter());
        var xdpc = typeof(Cli).Assembly.Location;
        var dotnet = Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";

        // A root process whose bounding and effective sets lack CAP_BPF, CAP_SYS_ADMIN and CAP_NET_ADMIN, like a
        // service started without them.
        var result = Netns.TryRun(setpriv!, "--bounding-set", "-bpf,-sys_admin,-net_admin,-perfmon", "--inh-caps", "-all",
            "--", dotnet, "exec", xdpc, "verify", path);

        Assert.Equal(Cli.Failure, result.ExitCode);
        Assert.Contains("EPERM", result.Output + result.Error, StringComparison.Ordinal);
        Assert.Contains("CAP_BPF", result.Output + result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Output + result.Error, StringComparison.Ordinal);
    }
}

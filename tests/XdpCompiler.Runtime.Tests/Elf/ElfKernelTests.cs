using System.Text.Json;
using XdpCompiler.Core.Elf;
using XdpCompiler.Runtime.Elf;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Runtime.Tests.Elf;

/// <summary>
/// Our ELF output judged by the real consumers: libbpf (through bpftool), the kernel's BTF and verifier checks,
/// iproute2 and xdp-loader. Everything created here (pins, namespaces, veths) is removed, also on failure.
/// </summary>
public class ElfKernelTests
{
    [KernelToolFact("bpftool")]
    public void Bpftool_loads_the_written_object_with_btf_maps_and_line_info_and_it_runs()
    {
        using var dir = new TempDirectory();
        using var pins = new BpfFsDirectory();
        var path = dir.File("counter.bpf.o");
        File.WriteAllBytes(path, ElfObjectWriter.Write(SampleObjects.Counter()));
        var programPin = pins.Combine("progs/xdp_count");
        var mapPin = pins.Combine("maps/counters");

        var load = Tools.Run("bpftool", "prog", "loadall", path, pins.Combine("progs"), "pinmaps", pins.Combine("maps"));
        Assert.DoesNotContain("libbpf:", load.Error); // libbpf prints only warnings and errors by default

        using var program = JsonDocument.Parse(Tools.Run("bpftool", "-j", "prog", "show", "pinned", programPin).Output);
        Assert.Equal("xdp", program.RootElement.GetProperty("type").GetString());
        Assert.Equal("xdp_count", program.RootElement.GetProperty("name").GetString());
        Assert.True(program.RootElement.GetProperty("gpl_compatible").GetBoolean());
        Assert.True(program.RootElement.TryGetProperty("btf_id", out _), "the program was loaded without BTF");

        using var map = JsonDocument.Parse(Tools.Run("bpftool", "-j", "map", "show", "pinned", mapPin).Output);
        Assert.Equal("percpu_array", map.RootElement.GetProperty("type").GetString());
        Assert.Equal(("counters", 4, 8, 4), (
            map.RootElement.GetProperty("name").GetString(),
            map.RootElement.GetProperty("bytes_key").GetInt32(),
            map.RootElement.GetProperty("bytes_value").GetInt32(),
            map.RootElement.GetProperty("max_entries").GetInt32()));
        Assert.True(map.RootElement.TryGetProperty("btf_id", out _), "the map was created without BTF");
        var mapBtf = Tools.Run("bpftool", "btf", "dump", "map", "pinned", mapPin).Output;
        Assert.Contains("INT 'unsigned int' size=4", mapBtf);
        Assert.Contains("INT 'unsigned long long' size=8", mapBtf);

        // Line info reached the kernel: the xlated dump quotes the C# lines.
        var xlated = Tools.Run("bpftool", "prog", "dump", "xlated", "pinned", programPin, "linum").Output;
        Assert.Contains("int xdp_count(struct xdp_md * ctx):", xlated);
        Assert.Contains("; ulong* value = Counters.Lookup(key); [file:Counter.cs line_num:11 line_col:9]", xlated);

        // The map relocation was right: one test run returns XDP_PASS and counts one packet.
        var packet = dir.File("packet.bin");
        File.WriteAllBytes(packet, new byte[64]);
        var run = Tools.Run("bpftool", "prog", "run", "pinned", programPin, "data_in", packet, "repeat", "1");
        Assert.Contains("Return value: 2", run.Output + run.Error);
        using var value = JsonDocument.Parse(Tools.Run("bpftool", "-j", "map", "lookup", "pinned", mapPin, "key", "0", "0", "0", "0").Output);
        var total = value.RootElement.GetProperty("formatted").GetProperty("values").EnumerateArray().Sum(v => v.GetProperty("value").GetInt64());
        Assert.Equal(1, total);
    }

    [KernelToolFact("bpftool")]
    public void Several_programs_per_section_load_each_with_its_func_and_line_info()
    {
        using var dir = new TempDirectory();
        using var pins = new BpfFsDirectory();
        var counter = SampleObjects.Counter();
        var obj = counter with
        {
            Programs = [SampleObjects.PassWithLine("xdp_first"), counter.Programs[0], SampleObjects.PassWithLine("xdp_on_devmap", "xdp/devmap"), SampleObjects.PassWithLine("xdp_last")],
        };
        var path = dir.File("several.bpf.o");
        File.WriteAllBytes(path, ElfObjectWriter.Write(obj));

        Tools.Run("bpftool", "prog", "loadall", path, pins.Combine("progs"));

        foreach (var program in obj.Programs)
        {
            var xlated = Tools.Run("bpftool", "prog", "dump", "xlated", "pinned", pins.Combine("progs/" + program.Name), "linum").Output;
            Assert.Contains($"int {program.Name}(struct xdp_md * ctx):", xlated);
            Assert.Contains($"; {program.Lines[0].LineText} [file:{program.Lines[0].File} line_num:{program.Lines[0].Line}", xlated);
        }
    }

    [KernelToolFact("bpftool", Clang.Tool)]
    public void Clang_objects_that_the_reader_accepts_load_with_bpftool_too()
    {
        // Keeps the reader's notion of "supported" honest: what it models, libbpf and the kernel accept.
        using var dir = new TempDirectory();
        using var pins = new BpfFsDirectory();
        var path = Clang.Compile("multi", dir.Path);
        var read = ElfObjectReader.Read(path);

        Tools.Run("bpftool", "prog", "loadall", path, pins.Combine("progs"), "pinmaps", pins.Combine("maps"));

        Assert.Equal(read.Programs.Select(p => p.Name).Order(), Directory.GetFiles(pins.Combine("progs")).Select(Path.GetFileName).Order());
        Assert.Equal(read.Maps.Select(m => m.Name).Order(), Directory.GetFiles(pins.Combine("maps")).Select(Path.GetFileName).Order());
    }

    [KernelToolFact(Clang.Tool)]
    public void Clang_program_array_initialisers_are_read_and_filled_by_our_loader()
    {
        using var dir = new TempDirectory();
        var read = ElfObjectReader.Read(Clang.Compile("tail_calls", dir.Path));
        Assert.Equal(new string?[] { null, "xdp_target" }, read.Maps.Single().InitialPrograms);
        Assert.Equal(4u, read.Maps.Single().ValueSize);

        using var loaded = BpfObjectLoader.Load(read);
        var packet = new byte[64];
        packet[0] = 1; // slot 1: xdp_target answers XDP_TX
        Assert.Equal(3u, loaded.Program("xdp_entry").TestRun(packet).ReturnValue);
        packet[0] = 0; // slot 0 is empty: the program goes on and drops
        Assert.Equal(1u, loaded.Program("xdp_entry").TestRun(packet).ReturnValue);
    }

    [KernelToolFact("ip", "xdp-loader")]
    public void Iproute2_and_xdp_loader_attach_the_written_object()
    {
        using var dir = new TempDirectory();
        var path = dir.File("counter.bpf.o");
        File.WriteAllBytes(path, ElfObjectWriter.Write(SampleObjects.Counter()));
        using var ns = Netns.Create();

        Tools.Run("ip", "-n", ns.Name, "link", "set", "dev", ns.PeerInterface, "xdpgeneric", "obj", path, "sec", "xdp");
        Assert.Contains("name xdp_count", Tools.Run("ip", "-n", ns.Name, "link", "show", ns.PeerInterface).Output);
        Tools.Run("ip", "-n", ns.Name, "link", "set", "dev", ns.PeerInterface, "xdpgeneric", "off");

        var load = ns.TryExec("xdp-loader", "load", "-m", "skb", ns.PeerInterface, path);
        Assert.True(load.ExitCode == 0, $"xdp-loader load failed:\n{load.Error}\n{load.Output}");
        Assert.Contains("xdp_count", ns.Exec("xdp-loader", "status", ns.PeerInterface));
        ns.Exec("xdp-loader", "unload", "--all", ns.PeerInterface);
    }
}

using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Elf;
using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime.Elf;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Runtime.Tests.Elf;

/// <summary>libxdp run configs read back from our ELF and from clang's, and loaded with the object's BTF.</summary>
public class RunConfigReaderTests
{
    private static readonly uint Drop = 1u << 1, Pass = 1u << 2, Tx = 1u << 3;

    private static BpfObject Configured() => SampleObjects.WithPrograms(SampleObjects.Pass("xdp_first"), SampleObjects.Pass("xdp_second", "xdp.frags"), SampleObjects.Pass("xdp_third")) with
    {
        RunConfigs = [new BpfRunConfig("xdp_second", 0, 0), new BpfRunConfig("xdp_first", 4_000_000_000, Pass | Drop | Tx)],
    };

    [Fact]
    public void Round_trip_through_our_writer_gives_the_same_run_configs()
    {
        var read = ElfObjectReader.Read(ElfObjectWriter.Write(Configured()), "configured");

        Assert.Equal(Configured().RunConfigs.ToArray(), read.RunConfigs.ToArray());
    }

    [ToolFact(Clang.Tool)]
    public void Reads_clangs_XDP_RUN_CONFIG_as_libxdp_does()
    {
        using var dir = new TempDirectory();
        var read = ElfObjectReader.Read(Clang.Compile("run_config", dir.Path));

        // Unnamed actions keep libxdp's defaults (priority 50, chain on XDP_PASS); a config naming no program is ignored.
        Assert.Equal([new BpfRunConfig("xdp_first", 10, Pass | Drop), new BpfRunConfig("xdp_second", 50, Tx)], read.RunConfigs.ToArray());
        Assert.Equal(3, read.Programs.Length);
    }

    [Fact]
    public void A_member_libxdp_refuses_makes_the_object_refused()
    {
        var bytes = ElfObjectWriter.Write(Configured());
        // XDP_PASS and XDP_PAST have the same length, so only the name in the BTF string table changes.
        var at = IndexOf(bytes, "XDP_PASS\0"u8.ToArray());
        "XDP_PAST"u8.CopyTo(bytes.AsSpan(at));

        var e = Assert.Throws<BpfObjectFormatException>(() => ElfObjectReader.Read(bytes, "damaged"));
        Assert.Contains("run config member 'XDP_PAST' is neither 'priority' nor an XDP action", e.Message);
    }

    /// <summary>The kernel takes the BTF with the run configs' DATASEC, as our loader hands it over, and the programs run.</summary>
    [KernelFact]
    public void Our_loader_loads_an_object_with_run_configs()
    {
        using var loaded = BpfObjectLoader.Load(ElfObjectWriter.Write(Configured()), "configured");

        Assert.NotNull(loaded.Btf);
        Assert.Contains(loaded.Object.Types.Types, t => t is BtfDataSec { Name: BpfElf.RunConfigSection });
        Assert.Equal(2u, loaded.Program("xdp_second").TestRun(new byte[64]).ReturnValue);
    }

    [KernelToolFact(Clang.Tool)]
    public void Our_loader_loads_clangs_object_with_run_configs()
    {
        using var dir = new TempDirectory();
        using var loaded = BpfObjectLoader.LoadFile(Clang.Compile("run_config", dir.Path));

        Assert.NotNull(loaded.Btf);
        Assert.Equal(1u, loaded.Program("xdp_second").TestRun(new byte[64]).ReturnValue);
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (var i = 0; i + needle.Length <= haystack.Length; i++)
        {
            if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle))
                return i;
        }
        throw new InvalidOperationException("not found");
    }
}

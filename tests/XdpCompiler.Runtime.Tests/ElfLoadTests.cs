using XdpCompiler.Core.Elf;
using XdpCompiler.Runtime.Tests.Elf;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Runtime.Tests;

/// <summary>The loader fed by the ELF reader: our writer's bytes and clang's objects, end to end into the kernel.</summary>
public sealed class ElfLoadTests
{
    [KernelFact]
    public void OurElf_LoadsRunsAndCounts()
    {
        var elf = ElfObjectWriter.Write(SampleObjects.Counter());

        using var loaded = BpfObjectLoader.Load(elf, "counter");

        Assert.True(loaded.Warnings.IsEmpty, string.Join("\n", loaded.Warnings));
        Assert.NotNull(loaded.Btf);
        Assert.True(loaded.Map("counters").HasBtf);
        var result = loaded.Program("xdp_count").TestRun(TestPrograms.Ipv4Frame(), repeat: 3);
        Assert.Equal(XdpAction.Pass, result.Action);
        Assert.Equal(3ul, loaded.Map("counters").AsPerCpuArray<ulong>().Sum(0));
        var xlated = Netns.Run("bpftool", "prog", "dump", "xlated", "id", loaded.Program("xdp_count").Id.ToString(), "linum");
        Assert.Contains("; ulong* value = Counters.Lookup(key); [file:Counter.cs line_num:11", xlated);
    }

    [KernelToolFact(Clang.Tool)]
    public void ClangObject_LoadsWithBtfAndSourceLines()
    {
        using var dir = new TempDirectory();
        var path = Clang.Compile("counter", dir.Path);

        using var loaded = BpfObjectLoader.LoadFile(path);

        Assert.True(loaded.Warnings.IsEmpty, string.Join("\n", loaded.Warnings));
        Assert.True(loaded.Map("counters").HasBtf);
        Assert.Equal(XdpAction.Pass, loaded.Program("xdp_count").TestRun(TestPrograms.Ipv4Frame()).Action);
        Assert.Equal(1ul, loaded.Map("counters").AsPerCpuArray<ulong>().Sum(0));
        var xlated = Netns.Run("bpftool", "prog", "dump", "xlated", "id", loaded.Program("xdp_count").Id.ToString(), "linum");
        Assert.Contains("__u64 *value = bpf_map_lookup_elem(&counters, &key);", xlated);
    }
}

using XdpCompiler.Samples.DdosFilter;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Samples.Tests;

/// <summary>An independent loader (bpftool, on libbpf) accepts the filter's object.</summary>
public sealed class BpftoolTests
{
    /// <summary>The build's <c>bpf/Filter.bpf.o</c>, copied next to this assembly from the sample's output.</summary>
    private static string BuiltObjectPath => Path.Combine(AppContext.BaseDirectory, "bpf", Filter.BpfObjectName + ".bpf.o");

    [Fact]
    public void The_built_object_file_is_the_object_the_assembly_embeds()
    {
        // The sample imports the build targets, so the file must exist; when it does, it must be the same bytes.
        Assert.True(File.Exists(BuiltObjectPath), $"{BuiltObjectPath} is missing: the sample's build did not write bpf/{Filter.BpfObjectName}.bpf.o.");
        Assert.Equal(Filter.BpfObjectBytes.ToArray(), File.ReadAllBytes(BuiltObjectPath));
    }

    [KernelFact]
    public void Bpftool_prog_loadall_accepts_the_object()
    {
        var bpftool = Tools.Find("bpftool");
        Assert.True(bpftool is not null, "bpftool is not installed (apt-get install bpftool, or linux-tools-$(uname -r)).");

        // Prefer the file the build wrote (what a user hands to bpftool); fall back to the embedded bytes.
        string? temporary = null;
        var objectPath = BuiltObjectPath;
        if (!File.Exists(objectPath))
        {
            temporary = objectPath = Path.Combine(Path.GetTempPath(), $"xdpc-samples-{Environment.ProcessId}-{Guid.NewGuid():N}.bpf.o");
            File.WriteAllBytes(temporary, Filter.BpfObjectBytes.ToArray());
        }
        using var bpffs = new BpfFsDirectory();
        var pins = bpffs.Combine("filter");
        try
        {
            var load = Netns.TryRun(bpftool!, "prog", "loadall", objectPath, pins, "pinmaps", Path.Combine(pins, "maps"));
            Assert.True(load.ExitCode == 0, $"`{load.CommandLine}` failed ({load.ExitCode}):\n{load.Error}{load.Output}");

            var programPin = Path.Combine(pins, FilterLoader.ProgramName);
            Assert.True(File.Exists(programPin), $"bpftool pinned no program {FilterLoader.ProgramName} in {pins}.");
            Assert.True(File.Exists(Path.Combine(pins, "maps", FilterLoader.CountersMapName)), $"bpftool pinned no map {FilterLoader.CountersMapName}.");

            var show = Netns.Run(bpftool!, "prog", "show", "pinned", programPin);
            Assert.Contains("xdp", show);
            Assert.Contains($"name {FilterLoader.ProgramName}", show);
            var map = Netns.Run(bpftool!, "map", "show", "pinned", Path.Combine(pins, "maps", FilterLoader.CountersMapName));
            Assert.Contains("percpu_array", map);
            Assert.Contains("max_entries 2", map);
        }
        finally
        {
            // Removing the pins unloads the program and the map (nothing else holds them).
            if (Directory.Exists(pins))
                Directory.Delete(pins, recursive: true);
            if (temporary is not null)
                File.Delete(temporary);
        }
        Assert.False(Directory.Exists(pins));
    }
}

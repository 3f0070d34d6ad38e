using Xunit;
namespace XdpCompiler.Runtime.Tests;

/// <summary>Counts this process's open file descriptors from /proc/self/fd.</summary>
internal static class FileDescriptors
{
    /// <summary>
    /// Every descriptor except the assembly files the .NET runtime opens as it loads code (those come and go with
    /// whatever a test happens to touch first, and are not ours): pipes, sockets, anonymous inodes, devices.
    /// </summary>
    public static int CountAll() => Directory.GetFiles("/proc/self/fd").Count(p => Target(p) is not { } t || !t.EndsWith(".dll", StringComparison.Ordinal));

    private static string? Target(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Descriptors of BPF objects: maps, programs, links and BTF are anonymous inodes named after their kind.</summary>
    public static int CountBpf() => Directory.GetFiles("/proc/self/fd").Count(IsBpf);

    private static bool IsBpf(string path)
    {
        try
        {
            var target = new FileInfo(path).LinkTarget;
            return target is not null && (target.StartsWith("anon_inode:bpf", StringComparison.Ordinal) || target.StartsWith("anon_inode:btf", StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return false; // closed while we looked
        }
    }

    public static string Describe() => string.Join("\n", Directory.GetFiles("/proc/self/fd").Where(p => Target(p) is not { } t || !t.EndsWith(".dll", StringComparison.Ordinal)).Select(p =>
    {
        try
        {
            return $"{Path.GetFileName(p)} -> {new FileInfo(p).LinkTarget}";
        }
        catch (IOException)
        {
            return $"{Path.GetFileName(p)} (gone)";
        }
    }));
}

/// <summary>Tests that count the process's descriptors run alone, after the parallel ones.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SequentialCollection
{
    public const string Name = "Sequential (counts process-wide descriptors)";
}

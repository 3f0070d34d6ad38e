namespace XdpCompiler.TestKit;

/// <summary>
/// A directory on a BPF filesystem for pins: a fresh directory under /sys/fs/bpf when a bpffs is mounted there,
/// otherwise a private bpffs instance mounted on a temporary directory (each bpffs mount is its own instance, so this
/// touches nothing outside the test). Dispose removes the pins and, for a private instance, unmounts it.
/// </summary>
public sealed class BpfFsDirectory : IDisposable
{
    private const string SystemBpfFs = "/sys/fs/bpf";
    private static int s_counter;
    private readonly bool _mounted;

    public BpfFsDirectory()
    {
        // No dots: libbpf rewrites '.' in pin paths to '_'.
        var name = $"xdpc_test_{Environment.ProcessId}_{Interlocked.Increment(ref s_counter)}";
        if (IsBpfFs(SystemBpfFs))
        {
            Path = System.IO.Path.Combine(SystemBpfFs, name);
            Directory.CreateDirectory(Path);
            return;
        }
        Path = System.IO.Path.Combine("/tmp", name);
        Directory.CreateDirectory(Path);
        try
        {
            Netns.Run("mount", "-t", "bpf", "bpf", Path);
            _mounted = true;
        }
        catch
        {
            Directory.Delete(Path);
            throw;
        }
    }

    public string Path { get; }

    public string Combine(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        if (_mounted)
        {
            Netns.TryRun("umount", Path);
            Directory.Delete(Path, recursive: true);
        }
        else if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true); // unlinking a pin drops the kernel's reference
        }
    }

    private static bool IsBpfFs(string path) =>
        File.ReadLines("/proc/self/mounts").Select(l => l.Split(' ')).Any(f => f.Length > 2 && f[1] == path && f[2] == "bpf");
}

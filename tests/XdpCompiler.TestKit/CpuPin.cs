using System.Runtime.InteropServices;

namespace XdpCompiler.TestKit;

/// <summary>
/// Keeps the calling thread on one CPU until disposed. BPF_PROG_TEST_RUN runs the program on the caller's CPU, so a
/// thread that migrates spreads per-CPU map values over several CPUs; pinned, they behave like the single copy the
/// .NET implementation keeps, whatever the program stores.
/// </summary>
public sealed class CpuPin : IDisposable
{
    private const int MaskBytes = 128;
    private readonly byte[] _previous = new byte[MaskBytes];
    private readonly bool _pinned;

    private CpuPin()
    {
        if (!OperatingSystem.IsLinux() || SchedGetAffinity(0, MaskBytes, _previous) != 0)
            return;
        var cpu = SchedGetCpu();
        var mask = new byte[MaskBytes];
        mask[cpu / 8] = (byte)(1 << (cpu % 8));
        _pinned = SchedSetAffinity(0, MaskBytes, mask) == 0;
        if (!_pinned)
            throw new InvalidOperationException($"sched_setaffinity to CPU {cpu} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    public static CpuPin CurrentThread() => new();

    public void Dispose()
    {
        if (_pinned)
            SchedSetAffinity(0, MaskBytes, _previous);
    }

    [DllImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static extern int SchedGetAffinity(int pid, nint size, byte[] mask);

    [DllImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static extern int SchedSetAffinity(int pid, nint size, byte[] mask);

    [DllImport("libc", EntryPoint = "sched_getcpu")]
    private static extern int SchedGetCpu();
}

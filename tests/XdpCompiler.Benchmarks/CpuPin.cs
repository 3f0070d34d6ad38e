using System.Runtime.InteropServices;

namespace XdpCompiler.Benchmarks;

/// <summary>Keeps the calling thread on the CPU it is running on until disposed (sched_setaffinity on the thread).</summary>
internal sealed class CpuPin : IDisposable
{
    private const int MaskBytes = 128;
    private readonly byte[] _previous = new byte[MaskBytes];

    private CpuPin()
    {
        if (SchedGetAffinity(0, MaskBytes, _previous) != 0)
            throw new BenchmarkException($"sched_getaffinity failed: errno {Marshal.GetLastPInvokeError()}");
        var cpu = SchedGetCpu();
        var mask = new byte[MaskBytes];
        mask[cpu / 8] = (byte)(1 << (cpu % 8));
        if (SchedSetAffinity(0, MaskBytes, mask) != 0)
            throw new BenchmarkException($"sched_setaffinity to CPU {cpu} failed: errno {Marshal.GetLastPInvokeError()}");
        Cpu = cpu;
    }

    public int Cpu { get; }

    public static CpuPin CurrentThread() => new();

    public void Dispose() => SchedSetAffinity(0, MaskBytes, _previous);

    [DllImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static extern int SchedGetAffinity(int pid, nint size, byte[] mask);

    [DllImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static extern int SchedSetAffinity(int pid, nint size, byte[] mask);

    [DllImport("libc", EntryPoint = "sched_getcpu")]
    private static extern int SchedGetCpu();
}

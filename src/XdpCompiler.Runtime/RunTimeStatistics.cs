using XdpCompiler.Runtime.Interop;

namespace XdpCompiler.Runtime;

/// <summary>
/// A program's run-time counters at one moment. The kernel adds the time of each run (two clock reads around the
/// program, so a few nanoseconds of its own) and counts the run; subtract two readings to time the runs between them.
/// </summary>
public readonly record struct ProgramRunStatistics(ulong RunTimeNanoseconds, ulong RunCount, ulong RecursionMisses)
{
    /// <summary>The runs and time between <paramref name="earlier"/> and this reading.</summary>
    public ProgramRunStatistics Since(ProgramRunStatistics earlier) =>
        new(RunTimeNanoseconds - earlier.RunTimeNanoseconds, RunCount - earlier.RunCount, RecursionMisses - earlier.RecursionMisses);

    /// <summary>Nanoseconds per run; NaN when nothing ran.</summary>
    public double AverageNanoseconds => RunCount == 0 ? double.NaN : (double)RunTimeNanoseconds / RunCount;
}

/// <summary>
/// BPF_ENABLE_STATS (Linux 5.8): the kernel counts every program's runs and run time while any such scope is open
/// (the scope is a descriptor; closing it, or the process ending, turns counting off again). Counting costs each run
/// two clock reads, which is why the kernel keeps it off by default. Needs CAP_SYS_ADMIN.
/// </summary>
public sealed class RunTimeStatistics : IDisposable
{
    private const uint StatsRunTime = 0;

    private readonly BpfFd _fd;

    private RunTimeStatistics(BpfFd fd) => _fd = fd;

    public static RunTimeStatistics Enable()
    {
        var attr = new EnableStatsAttr { Type = StatsRunTime };
        var result = BpfSyscall.Invoke(BpfCommand.EnableStats, ref attr);
        if (result < 0)
            throw BpfErrors.Create(BpfOperationKind.Statistics, "enable run-time statistics", null, -result);
        return new RunTimeStatistics(new BpfFd(result));
    }

    public void Dispose() => _fd.Dispose();
}

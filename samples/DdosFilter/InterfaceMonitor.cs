using XdpCompiler.Runtime;

namespace XdpCompiler.Samples.DdosFilter;

/// <summary>What a monitoring run ended with.</summary>
public sealed record MonitorResult(string InterfaceName, uint ProgramId, XdpAttachedMode AttachedMode, string? NativeRefusal, FilterCounters Counters, int Reports);

/// <summary>
/// <c>--interface NAME</c>: the filter on an existing interface, its counters printed every interval until the token
/// is cancelled (Ctrl+C), then detached.
/// </summary>
public static class InterfaceMonitor
{
    public static MonitorResult Run(string interfaceName, XdpMode mode, TextWriter output, TimeSpan interval, Cleanup? cleanup = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(interfaceName);
        cleanup ??= new Cleanup();
        try
        {
            var filter = FilterLoader.Load();
            cleanup.Add($"the filter's program {FilterLoader.ProgramName} and map {FilterLoader.CountersMapName}", filter.Dispose);
            var link = FilterLoader.Attach(filter, interfaceName, mode, out var nativeRefusal);
            cleanup.Add($"the XDP attachment on {interfaceName} (detached)", link.Detach);
            var attached = link.Query().Mode;
            var programId = filter.Program(FilterLoader.ProgramName).Id;
            output.WriteLine($"Attached {FilterLoader.ProgramName} (program id {programId}) to {interfaceName} in {attached.ToString().ToLowerInvariant()} mode"
                + (nativeRefusal is null ? "." : $"; native mode was refused: {nativeRefusal}"));
            output.WriteLine("Dropping IPv4 UDP, passing the rest. Press Ctrl+C to detach and exit.");

            var reports = 0;
            var previous = FilterLoader.ReadCounters(filter);
            while (!cancellationToken.WaitHandle.WaitOne(interval))
            {
                var now = FilterLoader.ReadCounters(filter);
                var delta = now - previous;
                previous = now;
                reports++;
                output.WriteLine($"{DateTime.Now:HH:mm:ss}  dropped {now.Dropped,10} (+{delta.Dropped})   passed {now.Passed,10} (+{delta.Passed})");
            }
            var final = FilterLoader.ReadCounters(filter);
            output.WriteLine($"Stopping: {final} in total.");
            return new MonitorResult(interfaceName, programId, attached, nativeRefusal, final, reports);
        }
        finally
        {
            cleanup.RunAll(output);
        }
    }
}

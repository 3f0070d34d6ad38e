namespace XdpCompiler.Samples.DdosFilter;

/// <summary>
/// Undo steps, run last-in first-out exactly once, whichever path gets there first: the normal end of a run, an
/// exception, Ctrl+C or process exit. Each step is attempted even when an earlier one fails; failures are reported,
/// never thrown, so one stuck step cannot leave the others undone.
/// </summary>
public sealed class Cleanup
{
    private readonly object _gate = new();
    private readonly Stack<(string Description, Action Undo)> _steps = new();

    /// <summary>Registers <paramref name="undo"/>; <paramref name="description"/> names what it removes ("veth ddos12h1").</summary>
    public void Add(string description, Action undo)
    {
        lock (_gate)
            _steps.Push((description, undo));
    }

    public int Count
    {
        get
        {
            lock (_gate)
                return _steps.Count;
        }
    }

    /// <summary>Runs every registered step now; later calls (from another path) find nothing left to do.</summary>
    /// <returns>The steps that failed, with the reason.</returns>
    public IReadOnlyList<string> RunAll(TextWriter? log = null)
    {
        var failures = new List<string>();
        // Holding the lock while undoing makes a second caller (a signal arriving mid-cleanup) wait for the first,
        // so the process does not exit with half of it done.
        lock (_gate)
        {
            while (_steps.TryPop(out var step))
            {
                try
                {
                    step.Undo();
                    log?.WriteLine($"  removed {step.Description}");
                }
                catch (Exception e)
                {
                    var failure = $"could not remove {step.Description}: {e.Message}";
                    failures.Add(failure);
                    log?.WriteLine($"  {failure}");
                }
            }
        }
        return failures;
    }
}

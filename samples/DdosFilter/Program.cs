using System.Diagnostics;
using System.Runtime.InteropServices;
using XdpCompiler.Samples.DdosFilter;

// A signal cancels the run, which then unwinds through its cleanup. Signals often come in pairs (Ctrl+C reaches
// `dotnet run` and the app; `timeout` signals the child and its group), so more signals in the next few seconds are
// ignored: cleaning up from the handler while the main thread is still creating things could miss what it creates
// next. Only a run stuck for longer is cleaned up from the handler and then ended. ProcessExit is the last resort.
var cancel = new CancellationTokenSource();
var cleanup = new Cleanup();
var firstSignal = new Stopwatch();
var gate = new object();

bool KeepRunning(string signal)
{
    lock (gate)
    {
        if (!firstSignal.IsRunning)
        {
            firstSignal.Start();
            Console.Error.WriteLine($"{signal}: stopping; undoing what this run set up...");
            cancel.Cancel();
            return true;
        }
        if (firstSignal.Elapsed < TimeSpan.FromSeconds(5))
            return true;
    }
    Console.Error.WriteLine($"{signal} again: cleaning up now and exiting.");
    cleanup.RunAll(Console.Error);
    return false;
}

Console.CancelKeyPress += (_, e) => e.Cancel = KeepRunning(e.SpecialKey == ConsoleSpecialKey.ControlC ? "Ctrl+C" : "Ctrl+Break");
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => context.Cancel = KeepRunning("SIGTERM"));
using var hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context => context.Cancel = KeepRunning("SIGHUP"));
AppDomain.CurrentDomain.ProcessExit += (_, _) => cleanup.RunAll(Console.Error);

return DdosFilterCommand.Run(args, Console.Out, Console.Error, cleanup, cancel.Token);

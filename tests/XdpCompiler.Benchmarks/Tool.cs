using System.ComponentModel;
using System.Diagnostics;

namespace XdpCompiler.Benchmarks;

/// <summary>A finished command: its wall time from before the process started to after it was reaped, and its stdout.</summary>
internal sealed record ToolResult(double Milliseconds, string Output);

/// <summary>Runs command-line tools as a .NET program would, timing the whole process (start-up included).</summary>
internal static class Tool
{
    public static ToolResult Run(string command, params string[] args)
    {
        var (exit, result, error) = TryRun(command, args);
        if (exit != 0)
            throw new BenchmarkException($"`{command} {string.Join(' ', args)}` exited with {exit}: {error.Trim()} {result.Output.Trim()}".TrimEnd());
        return result;
    }

    public static (int Exit, ToolResult Result, string Error) TryRun(string command, params string[] args)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        var begin = Stopwatch.GetTimestamp();
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new BenchmarkException($"Could not start {command}.");
        }
        catch (Win32Exception e)
        {
            throw new BenchmarkException($"Cannot run {command} ({e.Message}); is it installed and on PATH?");
        }
        using (process)
        {
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(60_000))
            {
                process.Kill(entireProcessTree: true);
                throw new BenchmarkException($"`{command} {string.Join(' ', args)}` did not finish in 60 s.");
            }
            var elapsed = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
            return (process.ExitCode, new ToolResult(elapsed, output), error.GetAwaiter().GetResult());
        }
    }
}

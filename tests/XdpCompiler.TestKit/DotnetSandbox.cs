using System.Diagnostics;
using System.Reflection;
using System.Text;
using Xunit;

namespace XdpCompiler.TestKit;

/// <summary>
/// A temp folder in which end-to-end tests run the real <c>dotnet</c> CLI (pack, add package, build, publish) on
/// throwaway projects, isolated from the outer <c>dotnet test</c>: its MSBuild variables are dropped, no build server or
/// node outlives the command, and the folder is removed on dispose.
/// </summary>
public sealed class DotnetSandbox : IDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(3);
    private readonly Action<string> log;

    /// <param name="prefix">names the temp folder, so a leftover one says which test made it</param>
    /// <param name="log">where each command's output goes (the test's output helper)</param>
    public DotnetSandbox(string prefix, Action<string> log)
    {
        this.log = log;
        Root = Path.Combine(Path.GetTempPath(), $"{prefix}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    /// <summary>This checkout, recorded in TestKit at build time, so a throwaway project can reference its sources.</summary>
    public static string RepoRoot { get; } =
        typeof(DotnetSandbox).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "XdpCompilerRepoRoot").Value!;

    /// <summary>A folder under <see cref="Root"/>, created.</summary>
    public string Folder(string name) => Directory.CreateDirectory(Path.Combine(Root, name)).FullName;

    /// <summary>
    /// Runs <c>dotnet ARGS</c> in <paramref name="directory"/> and returns its output (stdout and stderr interleaved);
    /// fails the test when the exit code is not what <paramref name="expectSuccess"/> says or it runs too long.
    /// </summary>
    public string Run(string directory, IEnumerable<string> arguments, bool expectSuccess = true,
        IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var args = arguments.ToList();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in args)
            start.ArgumentList.Add(argument);

        // Variables the outer `dotnet test` set for its own MSBuild must not steer the inner builds.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(name);
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;

        var text = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (text) text.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (text) text.AppendLine(e.Data); };
        var limit = timeout ?? DefaultTimeout;
        var watch = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var command = "dotnet " + string.Join(' ', args);
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"{command} did not finish in {limit}:\n{text}");
        }
        process.WaitForExit();
        var output = text.ToString();
        log($"{command}: exit {process.ExitCode} in {watch.Elapsed.TotalSeconds:F1} s\n{output}");
        if (expectSuccess)
            Assert.True(process.ExitCode == 0, $"{command} failed with exit code {process.ExitCode}:\n{output}");
        else
            Assert.True(process.ExitCode != 0, $"{command} succeeded but should have failed:\n{output}");
        return output;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException e)
        {
            log($"Could not remove {Root}: {e.Message}");
        }
    }
}

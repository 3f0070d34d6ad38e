namespace XdpCompiler.TestKit;

/// <summary>A scratch directory for one test, removed on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"xdpc-test-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A scratch file that cannot be removed must not turn a passing test into a failure, nor hide the real
            // exception of a failing one (Dispose runs while it propagates).
        }
    }
}

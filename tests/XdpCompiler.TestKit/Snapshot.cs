using System.Runtime.CompilerServices;
using Xunit;

namespace XdpCompiler.TestKit;

/// <summary>
/// Golden files in Verify's convention: <c>Class.Method.verified.txt</c> beside the test source is the expectation;
/// a mismatch writes <c>.received.txt</c> next to it and fails. Set <c>XDP_ACCEPT_SNAPSHOTS=1</c> to overwrite the
/// verified files with what the run produced (then review the diff before committing).
/// </summary>
public static class Snapshot
{
    public static void Verify(string actual, string? name = null, [CallerFilePath] string sourceFile = "", [CallerMemberName] string member = "")
    {
        var directory = Path.GetDirectoryName(sourceFile)!;
        var stem = $"{Path.GetFileNameWithoutExtension(sourceFile)}.{name ?? member}";
        var verified = Path.Combine(directory, stem + ".verified.txt");
        var received = Path.Combine(directory, stem + ".received.txt");
        actual = Normalize(actual);

        if (Environment.GetEnvironmentVariable("XDP_ACCEPT_SNAPSHOTS") == "1")
        {
            File.WriteAllText(verified, actual);
            File.Delete(received);
            return;
        }

        var expected = File.Exists(verified) ? Normalize(File.ReadAllText(verified)) : null;
        if (expected == actual)
        {
            File.Delete(received);
            return;
        }

        File.WriteAllText(received, actual);
        Assert.Fail(expected is null
            ? $"No snapshot {verified}; wrote {received}. Review it and rename it to .verified.txt."
            : $"Snapshot differs: compare {received} with {verified}.\n--- expected\n{expected}\n--- actual\n{actual}");
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n").TrimEnd('\n') + "\n";
}

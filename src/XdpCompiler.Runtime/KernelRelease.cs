namespace XdpCompiler.Runtime;

/// <summary>The running kernel's release (uname -r), to say which features it predates.</summary>
internal static class KernelRelease
{
    private static readonly Lazy<string?> Release = new(() =>
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    });

    /// <summary>"6.18.44-fc", or null when /proc does not say.</summary>
    internal static string? Text => Release.Value;

    /// <summary>Major.minor of <see cref="Text"/>, or null.</summary>
    internal static Version? Current => Text is { } text ? Parse(text) : null;

    /// <summary>The major and minor numbers at the start of a release string ("5.15.0-91-generic" is 5.15).</summary>
    internal static Version? Parse(string release)
    {
        var parts = release.Split('.', 3);
        if (parts.Length < 2 || !int.TryParse(parts[0], out var major))
            return null;
        var minorText = new string(parts[1].TakeWhile(char.IsAsciiDigit).ToArray());
        return int.TryParse(minorText, out var minor) ? new Version(major, minor) : null;
    }
}

using System.Runtime.InteropServices;

namespace XdpCompiler.Build;

/// <summary>What one <see cref="XdpObjectWriter.Write"/> did, by full path.</summary>
public sealed class XdpObjectWriteResult
{
    internal XdpObjectWriteResult(
        IReadOnlyList<string> objects, IReadOnlyList<string> written, IReadOnlyList<string> removed, IReadOnlyList<BuildDiagnostic> errors)
    {
        Objects = objects;
        Written = written;
        Removed = removed;
        Errors = errors;
    }

    /// <summary>Every current object file, written now or already up to date, in input order.</summary>
    public IReadOnlyList<string> Objects { get; }

    /// <summary>Files whose bytes changed (or that did not exist) and were written.</summary>
    public IReadOnlyList<string> Written { get; }

    /// <summary>Files an earlier run wrote for objects the assembly no longer has.</summary>
    public IReadOnlyList<string> Removed { get; }

    public IReadOnlyList<BuildDiagnostic> Errors { get; }
}

/// <summary>
/// Writes <c>&lt;Name&gt;.bpf.o</c> files so that an unchanged build touches nothing: a file whose bytes are already right
/// keeps its timestamp (so anything downstream stays up to date), and only files listed as written by an earlier run are
/// ever deleted.
/// </summary>
public static class XdpObjectWriter
{
    public const string ObjectExtension = ".bpf.o";

    private static readonly StringComparer PathComparer =
        RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase;

    /// <summary>
    /// Writes <paramref name="objects"/> into <paramref name="outputDirectory"/>, removes the stale files named in
    /// <paramref name="listFile"/> and records the current set there. I/O failures come back as
    /// <see cref="BuildDiagnostics.WriteFailed"/> errors, never as exceptions.
    /// </summary>
    public static XdpObjectWriteResult Write(IReadOnlyList<XdpObjectEntry> objects, string outputDirectory, string listFile)
    {
        var errors = new List<BuildDiagnostic>();
        var current = new List<string>();
        var written = new List<string>();
        var removed = new List<string>();

        string directory;
        try
        {
            directory = Path.GetFullPath(outputDirectory);
            listFile = Path.GetFullPath(listFile);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException or System.Security.SecurityException)
        {
            errors.Add(new BuildDiagnostic(BuildDiagnostics.WriteFailed, $"Invalid output folder '{outputDirectory}' or list file '{listFile}': {e.Message}"));
            return new XdpObjectWriteResult(current, written, removed, errors);
        }

        var previous = ReadList(listFile, errors);

        foreach (var entry in objects)
        {
            var path = Path.Combine(directory, entry.Name + ObjectExtension);
            current.Add(path);
            try
            {
                if (HasContent(path, entry.Elf))
                {
                    continue;
                }

                Directory.CreateDirectory(directory);
                File.WriteAllBytes(path, entry.Elf);
                written.Add(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
            {
                errors.Add(new BuildDiagnostic(BuildDiagnostics.WriteFailed, $"Cannot write object '{entry.Name}': {e.Message}", path));
            }
        }

        var keep = new HashSet<string>(current, PathComparer);
        var stillListed = new List<string>(current);
        foreach (var stale in previous)
        {
            // The list file could have been edited or could come from an older layout: only ever delete our own kind of file.
            if (keep.Contains(stale) || !stale.EndsWith(ObjectExtension, StringComparison.OrdinalIgnoreCase) || !Path.IsPathRooted(stale))
            {
                continue;
            }

            try
            {
                if (File.Exists(stale))
                {
                    File.Delete(stale);
                    removed.Add(stale);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
            {
                // Keep it listed so the next build tries again.
                stillListed.Add(stale);
                errors.Add(new BuildDiagnostic(BuildDiagnostics.WriteFailed, $"Cannot remove the stale object file: {e.Message}", stale));
            }
        }

        WriteList(listFile, stillListed, errors);
        return new XdpObjectWriteResult(current, written, removed, errors);
    }

    private static bool HasContent(string path, byte[] expected)
    {
        var info = new FileInfo(path);
        if (!info.Exists || info.Length != expected.Length)
        {
            return false;
        }

        var actual = File.ReadAllBytes(path);
        if (actual.Length != expected.Length)
        {
            return false;
        }

        for (var i = 0; i < actual.Length; i++)
        {
            if (actual[i] != expected[i])
            {
                return false;
            }
        }

        return true;
    }

    private static List<string> ReadList(string listFile, List<BuildDiagnostic> errors)
    {
        var paths = new List<string>();
        try
        {
            if (!File.Exists(listFile))
            {
                return paths;
            }

            foreach (var line in File.ReadAllLines(listFile))
            {
                var path = line.Trim();
                if (path.Length > 0)
                {
                    paths.Add(path);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            errors.Add(new BuildDiagnostic(BuildDiagnostics.WriteFailed,
                $"Cannot read the list of object files written earlier, so stale ones are not removed: {e.Message}", listFile));
        }

        return paths;
    }

    private static void WriteList(string listFile, List<string> paths, List<BuildDiagnostic> errors)
    {
        var text = paths.Count == 0 ? "" : string.Join("\n", paths) + "\n";
        try
        {
            if (File.Exists(listFile) && File.ReadAllText(listFile) == text)
            {
                return;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(listFile)!);
            File.WriteAllText(listFile, text);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            errors.Add(new BuildDiagnostic(BuildDiagnostics.WriteFailed, $"Cannot record the object files written: {e.Message}", listFile));
        }
    }
}

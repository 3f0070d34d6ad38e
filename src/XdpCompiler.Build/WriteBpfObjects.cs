using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace XdpCompiler.Build;

/// <summary>
/// Writes one <c>&lt;Name&gt;.bpf.o</c> per <c>[assembly: XdpCompiler.XdpObject]</c> attribute of the built assembly,
/// leaves files with unchanged bytes alone and removes the files of objects that are gone. Run by
/// <c>XdpCompiler.targets</c>; every failure is an XDP9xxx error, never an unhandled exception.
/// </summary>
public sealed class WriteBpfObjects : Microsoft.Build.Utilities.Task
{
    /// <summary>The built assembly (normally <c>@(IntermediateAssembly)</c>).</summary>
    [Required]
    public string AssemblyPath { get; set; } = "";

    /// <summary>Where the object files go; created when needed.</summary>
    [Required]
    public string OutputDirectory { get; set; } = "";

    /// <summary>A file in obj/ that lists the object files this task wrote, so stale ones (and only those) get removed.</summary>
    [Required]
    public string ListFile { get; set; } = "";

    /// <summary>Every current object file, with metadata <c>ObjectName</c> and <c>Written</c> (true when its bytes changed).</summary>
    [Output]
    public ITaskItem[] Objects { get; set; } = Array.Empty<ITaskItem>();

    public override bool Execute()
    {
        try
        {
            return Run();
        }
        catch (Exception e)
        {
            // A crash would hide which assembly was being read; report it as a build error with the whole exception.
            Log.LogError(null, BuildDiagnostics.InternalError, null, AssemblyPath, 0, 0, 0, 0,
                "Unexpected failure while writing the XDP object files of this assembly; please report it: {0}", e);
            return false;
        }
    }

    private bool Run()
    {
        var read = XdpObjectReader.Read(AssemblyPath);
        if (read.Errors.Count > 0)
        {
            // Writing a partial set would delete the files of the objects that failed to decode as if they were stale.
            LogErrors(read.Errors);
            return false;
        }

        var result = XdpObjectWriter.Write(read.Objects, OutputDirectory, ListFile);
        foreach (var path in result.Written)
        {
            Log.LogMessage(MessageImportance.Normal, "XdpCompiler: wrote {0}", path);
        }

        foreach (var path in result.Removed)
        {
            Log.LogMessage(MessageImportance.Normal, "XdpCompiler: removed stale {0}", path);
        }

        var written = new HashSet<string>(result.Written, StringComparer.Ordinal);
        var items = new List<ITaskItem>(result.Objects.Count);
        for (var i = 0; i < result.Objects.Count; i++)
        {
            var item = new TaskItem(result.Objects[i]);
            item.SetMetadata("ObjectName", read.Objects[i].Name);
            item.SetMetadata("Written", written.Contains(result.Objects[i]) ? "true" : "false");
            items.Add(item);
        }

        Objects = items.ToArray();
        LogErrors(result.Errors);
        return result.Errors.Count == 0;
    }

    private void LogErrors(IEnumerable<BuildDiagnostic> errors)
    {
        foreach (var error in errors)
        {
            Log.LogError(null, error.Code, null, error.File ?? AssemblyPath, 0, 0, 0, 0, "{0}", error.Message);
        }
    }
}

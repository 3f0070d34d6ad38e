namespace XdpCompiler.Build;

/// <summary>
/// The build step's error catalogue: ids XDP9001–XDP9099 belong to writing object files after build. Ids are stable; each
/// comment shows what causes it and what to do.
/// </summary>
public static class BuildDiagnostics
{
    /// <summary>
    /// An <c>XdpObject</c> attribute's payload is not valid base64. The generator writes that attribute; a hand-written or
    /// edited one is the usual cause — remove it and rebuild.
    /// </summary>
    public const string InvalidBase64 = "XDP9001";

    /// <summary>
    /// An <c>XdpObject</c> attribute cannot be decoded: not the <c>(string name, string elfBase64)</c> constructor, a null
    /// argument, or a truncated blob. Usually a generator and API version mismatch — reference matching versions.
    /// </summary>
    public const string MalformedAttribute = "XDP9002";

    /// <summary>
    /// An object name that is not a plain file name (empty, a path separator, <c>..</c>, a control character), so it can't
    /// become <c>&lt;Name&gt;.bpf.o</c> inside the output folder.
    /// </summary>
    public const string InvalidObjectName = "XDP9003";

    /// <summary>
    /// Two objects whose names differ only in case or not at all would write the same file; rename one class.
    /// </summary>
    public const string DuplicateObjectName = "XDP9004";

    /// <summary>The payload decodes but isn't an ELF file (no <c>\x7fELF</c> magic), so it can't be a BPF object.</summary>
    public const string NotElf = "XDP9005";

    /// <summary>The built assembly cannot be read: missing, not a PE file, or without .NET metadata.</summary>
    public const string UnreadableAssembly = "XDP9006";

    /// <summary>Writing an object file, removing a stale one, or writing the list of written files failed (I/O error).</summary>
    public const string WriteFailed = "XDP9007";

    /// <summary>
    /// The task assembly named by <c>XdpCompilerTasksAssembly</c> does not exist (reported by XdpCompiler.targets, not by
    /// the task): restore the package again, or in this repository build src/XdpCompiler.Build.
    /// </summary>
    public const string TasksAssemblyMissing = "XDP9008";

    /// <summary>An unexpected exception inside the task: a bug in XdpCompiler. The message carries the whole exception.</summary>
    public const string InternalError = "XDP9099";
}

/// <summary>One problem found while reading or writing objects, with the id from <see cref="BuildDiagnostics"/>.</summary>
public sealed class BuildDiagnostic
{
    public BuildDiagnostic(string code, string message, string? file = null)
    {
        Code = code;
        Message = message;
        File = file;
    }

    public string Code { get; }

    public string Message { get; }

    /// <summary>The file the problem is in (the assembly, or the object file being written), for the MSBuild error line.</summary>
    public string? File { get; }

    public override string ToString() => File is null ? $"{Code}: {Message}" : $"{File}: {Code}: {Message}";
}

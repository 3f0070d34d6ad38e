using System.Collections.Immutable;

namespace XdpCompiler.Core.Diagnostics;

/// <summary>Where a diagnostic points: a file, a character span in it, and the 0-based line/column of the span's ends.</summary>
public sealed record SourceSpan(string FilePath, int Start, int Length, int StartLine, int StartColumn, int EndLine, int EndColumn)
{
    public override string ToString() => $"{FilePath}({StartLine + 1},{StartColumn + 1})";
}

/// <summary>
/// A reported problem as plain data (no Roslyn objects), so it can sit in the generator's cached models and be compared.
/// </summary>
public sealed record XdpDiagnostic(string Id, XdpSeverity Severity, string Message, SourceSpan? Location)
{
    public static XdpDiagnostic Create(DiagnosticDescriptorInfo descriptor, SourceSpan? location, params object[] args) =>
        new(descriptor.Id, descriptor.Severity, string.Format(descriptor.MessageFormat, args), location);

    public override string ToString() => $"{Location?.ToString() ?? "<no location>"}: {Severity.ToString().ToLowerInvariant()} {Id}: {Message}";
}

public static class XdpDiagnosticExtensions
{
    public static bool HasErrors(this ImmutableArray<XdpDiagnostic> diagnostics) =>
        !diagnostics.IsDefaultOrEmpty && diagnostics.Any(d => d.Severity == XdpSeverity.Error);
}

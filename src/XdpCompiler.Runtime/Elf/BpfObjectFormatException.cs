namespace XdpCompiler.Runtime.Elf;

/// <summary>
/// A BPF ELF object that cannot be read: malformed (truncated, not ELF, not EM_BPF, bad BTF) or using a feature the
/// reader does not support yet. <see cref="Section"/> and <see cref="Symbol"/> name where, when known.
/// </summary>
public sealed class BpfObjectFormatException : Exception
{
    public BpfObjectFormatException(string objectName, string message, string? section = null, string? symbol = null, Exception? inner = null)
        : base(Compose(objectName, message, section, symbol), inner)
    {
        ObjectName = objectName;
        Section = section;
        Symbol = symbol;
    }

    /// <summary>The object's name as given to the reader (usually the file name).</summary>
    public string ObjectName { get; }

    public string? Section { get; }

    public string? Symbol { get; }

    /// <summary>True when the object is well-formed but uses something the reader does not handle yet.</summary>
    public bool IsNotSupported { get; init; }

    private static string Compose(string objectName, string message, string? section, string? symbol)
    {
        var where = $"BPF object '{objectName}'";
        if (section is not null)
            where += $", section '{section}'";
        if (symbol is not null)
            where += $", symbol '{symbol}'";
        return $"{where}: {message}";
    }
}

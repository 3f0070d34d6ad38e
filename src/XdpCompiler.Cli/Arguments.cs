namespace XdpCompiler.Cli;

/// <summary>A command line that does not fit the command's grammar; reported in one line with exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>Bytes given in hex on the command line (map keys and values, packets, metadata).</summary>
public static class HexBytes
{
    /// <summary>
    /// Reads <paramref name="text"/> as hex bytes; a leading "0x" and separators between bytes as dumps and MAC
    /// addresses write them (spaces, tabs, ':' or '-') are allowed. <paramref name="alternative"/> names another form
    /// the option takes, for the message.
    /// </summary>
    public static byte[] Parse(string text, string command, string option, bool allowEmpty = false, string? alternative = null)
    {
        var hex = new string(text.Where(c => c is not (' ' or ':' or '-' or '\t')).ToArray());
        if (hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            hex = hex[2..];
        if (hex.Length == 0 && !allowEmpty || hex.Length % 2 != 0 || !hex.All(char.IsAsciiHexDigit))
        {
            var shown = text.Length <= 40 ? text : text[..40] + "…";
            throw new UsageException($"{command}: {option} wants bytes in hex (an even number of 0-9a-f digits){(alternative is null ? "" : " or " + alternative)}, not '{shown}'");
        }

        return Convert.FromHexString(hex);
    }
}

/// <summary>
/// One command's arguments: positionals, <c>--flag</c>s and <c>--option VALUE</c> (or <c>--option=VALUE</c>). Only
/// the names a command declares are accepted, so a typo is a usage error instead of being ignored.
/// </summary>
public sealed class Arguments
{
    private readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    private Arguments(string command) => Command = command;

    public string Command { get; }

    public List<string> Positionals { get; } = [];

    public static Arguments Parse(string command, IReadOnlyList<string> args, IReadOnlyCollection<string> flags, IReadOnlyCollection<string> options)
    {
        var result = new Arguments(command);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg == "--")
            {
                result.Positionals.AddRange(args.Skip(i + 1));
                break;
            }
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                if (arg.StartsWith('-') && arg.Length > 1)
                    throw new UsageException($"{command}: unknown option '{arg}' (see xdpc {command} --help)");
                result.Positionals.Add(arg);
                continue;
            }
            var name = arg;
            string? value = null;
            var equals = arg.IndexOf('=');
            if (equals > 0)
            {
                name = arg[..equals];
                value = arg[(equals + 1)..];
            }
            if (flags.Contains(name))
            {
                if (value is not null)
                    throw new UsageException($"{command}: {name} takes no value");
                result._flags.Add(name);
            }
            else if (options.Contains(name))
            {
                if (value is null)
                {
                    if (i + 1 >= args.Count || (args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 2))
                        throw new UsageException($"{command}: {name} needs a value");
                    value = args[++i];
                }
                if (!result._options.TryAdd(name, value))
                    throw new UsageException($"{command}: {name} given twice");
            }
            else
            {
                throw new UsageException($"{command}: unknown option '{name}' (see xdpc {command} --help)");
            }
        }
        return result;
    }

    public bool Flag(string name) => _flags.Contains(name);

    public string? Option(string name) => _options.GetValueOrDefault(name);

    public string Required(string name) =>
        Option(name) ?? throw new UsageException($"{Command}: {name} is required (see xdpc {Command} --help)");

    public uint UInt(string name, uint defaultValue)
    {
        var text = Option(name);
        if (text is null)
            return defaultValue;
        return uint.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new UsageException($"{Command}: {name} wants a non-negative integer, not '{text}'");
    }

    /// <summary>The one positional this command takes (the object file, usually).</summary>
    public string Single(string what)
    {
        if (Positionals.Count == 0)
            throw new UsageException($"{Command}: missing {what} (see xdpc {Command} --help)");
        if (Positionals.Count > 1)
            throw new UsageException($"{Command}: unexpected argument '{Positionals[1]}'");
        return Positionals[0];
    }

    public void NoPositionals()
    {
        if (Positionals.Count > 0)
            throw new UsageException($"{Command}: unexpected argument '{Positionals[0]}'");
    }
}

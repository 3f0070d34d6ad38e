namespace XdpCompiler.Runtime;

/// <summary>The CPUs the kernel keeps per-CPU map values for.</summary>
public static class SystemCpus
{
    private const string PossibleFile = "/sys/devices/system/cpu/possible";
    private static readonly Lazy<int> Possible = new(() => ParseCpuList(File.ReadAllText(PossibleFile), PossibleFile));

    /// <summary>
    /// How many CPUs are possible (not only online): a per-CPU map value is this many slots, each the value size
    /// rounded up to 8 bytes.
    /// </summary>
    public static int PossibleCount => Possible.Value;

    /// <summary>Counts the CPUs in a kernel CPU list such as "0-3,8-11" or "0".</summary>
    public static int ParseCpuList(string text, string source = "CPU list")
    {
        var count = 0;
        foreach (var raw in text.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var part = raw.Trim();
            var dash = part.IndexOf('-');
            if (dash < 0 && int.TryParse(part, out _))
            {
                count++;
                continue;
            }
            if (dash > 0 && int.TryParse(part.AsSpan(0, dash), out var first) && int.TryParse(part.AsSpan(dash + 1), out var last) && last >= first)
            {
                count += last - first + 1;
                continue;
            }
            throw new FormatException($"Cannot read the CPU list in {source}: '{text.Trim()}' (part '{part}').");
        }
        if (count == 0)
            throw new FormatException($"The CPU list in {source} is empty.");
        return count;
    }
}

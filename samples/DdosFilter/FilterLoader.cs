using XdpCompiler.Runtime;

namespace XdpCompiler.Samples.DdosFilter;

/// <summary>Loads the filter the generator compiled into this assembly and reads its counters.</summary>
public static class FilterLoader
{
    /// <summary>The program's name in the object: the <c>[XdpProgram]</c> attribute's argument.</summary>
    public const string ProgramName = "xdp_drop_udp";

    public const string CountersMapName = nameof(Filter.Counters);

    /// <summary>Loads the filter's map and program into the kernel through the skeleton the generator wrote.</summary>
    public static LoadedBpfObject Load() => Filter.Load().Object;

    /// <summary>
    /// Attaches the program; <see cref="XdpMode.Native"/> falls back to generic mode when the driver refuses native,
    /// and <paramref name="nativeRefusal"/> says why.
    /// </summary>
    public static XdpLink Attach(LoadedBpfObject filter, string interfaceName, XdpMode mode, out string? nativeRefusal)
    {
        nativeRefusal = null;
        var program = filter.Program(ProgramName);
        if (mode != XdpMode.Native)
            return program.Attach(interfaceName, mode);
        try
        {
            return program.Attach(interfaceName, XdpMode.Native);
        }
        catch (BpfException e) when (e.Errno is 95 /* EOPNOTSUPP */ or 22 /* EINVAL */ or 524 /* ENOTSUPP */)
        {
            nativeRefusal = e.Message;
            return program.Attach(interfaceName, XdpMode.Generic);
        }
    }

    /// <summary>The counters summed over all CPUs.</summary>
    public static FilterCounters ReadCounters(LoadedBpfObject filter)
    {
        var counters = filter.Map(CountersMapName).AsPerCpuArray<ulong>();
        return new FilterCounters(counters.Sum(Filter.DroppedSlot), counters.Sum(Filter.PassedSlot));
    }
}

/// <summary>What the filter counted: packets dropped and packets passed.</summary>
public readonly record struct FilterCounters(ulong Dropped, ulong Passed)
{
    public static FilterCounters operator -(FilterCounters after, FilterCounters before) =>
        new(after.Dropped - before.Dropped, after.Passed - before.Passed);

    public override string ToString() => $"dropped {Dropped}, passed {Passed}";
}

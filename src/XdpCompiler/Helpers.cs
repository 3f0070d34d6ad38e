using System.Diagnostics;

namespace XdpCompiler;

/// <summary>
/// Marks an API method as a kernel helper: the compiler passes the arguments in R1-R5 (an XdpContext receiver first)
/// and calls helper <see cref="Id"/> (<c>include/uapi/linux/bpf.h</c>). The .NET body does what the kernel does.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class BpfHelperAttribute : Attribute
{
    public BpfHelperAttribute(int id) => Id = id;

    public int Id { get; }
}

/// <summary>Kernel helpers an XDP program can call.</summary>
public static class Bpf
{
    [ThreadStatic]
    private static Random? t_random;

    [ThreadStatic]
    private static uint t_lastRedirect;

    /// <summary><c>bpf_ktime_get_ns</c>: monotonic time in nanoseconds.</summary>
    [BpfHelper(5)]
    public static ulong KtimeGetNs() => (ulong)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));

    /// <summary><c>bpf_get_prandom_u32</c>: a pseudo-random number (not for cryptography).</summary>
    [BpfHelper(7)]
    public static uint GetPrandomU32()
    {
        t_random ??= new Random();
        return (uint)t_random.Next() ^ ((uint)t_random.Next() << 1);
    }

    /// <summary><c>bpf_get_smp_processor_id</c>: the CPU the program runs on (0 in .NET).</summary>
    [BpfHelper(8)]
    public static uint GetSmpProcessorId() => 0;

    /// <summary>
    /// <c>bpf_redirect</c>: send the packet out of interface <paramref name="ifindex"/>; return the result from the
    /// program. Any flag makes it <see cref="XdpAction.Aborted"/>, as in the kernel.
    /// </summary>
    [BpfHelper(23)]
    public static XdpAction Redirect(uint ifindex, ulong flags = 0)
    {
        if (flags != 0)
            return XdpAction.Aborted;
        t_lastRedirect = ifindex;
        return XdpAction.Redirect;
    }

    /// <summary>The interface of this thread's last <see cref="Redirect"/> (for tests; not available to programs).</summary>
    public static uint LastRedirectInterface => t_lastRedirect;
}

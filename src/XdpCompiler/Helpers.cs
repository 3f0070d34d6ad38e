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

    /// <summary>
    /// The kernel lets only programs with a GPL-compatible license call this helper (its <c>gpl_only</c>); the compiler
    /// reports a call from any other program.
    /// </summary>
    public bool GplOnly { get; set; }

    /// <summary>
    /// When 0 or more: the helper takes, right after the C# argument with this index (a pointer), the size of what it
    /// points to, which the compiler passes as a constant.
    /// </summary>
    public int SizeOfPointeeAfter { get; set; } = -1;
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

    /// <summary>
    /// <c>bpf_csum_diff</c>: the one's-complement checksum change when the <paramref name="fromSize"/> bytes at
    /// <paramref name="from"/> are replaced by the <paramref name="toSize"/> bytes at <paramref name="to"/>, added to
    /// <paramref name="seed"/> (-EINVAL when the sizes add up to more than 512). Fold the result to 16 bits
    /// ((s &amp; 0xFFFF) + (s &gt;&gt; 16), twice) and treat 0xFFFF as 0: kernels before 6.12 return an unfolded 32-bit
    /// sum, later ones a folded 16-bit value, and only the folded one's-complement value is the same everywhere.
    /// </summary>
    [BpfHelper(28)]
    public static unsafe long CsumDiff(uint* from, uint fromSize, uint* to, uint toSize, uint seed)
    {
        if (fromSize + toSize > 512)
            return -22;
        var sum = Partial((byte*)to, toSize, seed) + (0xFFFF_FFFFul - Partial((byte*)from, fromSize, 0));
        while (sum >> 32 != 0)
            sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        return (long)sum;
    }

    /// <summary>The 32-bit one's-complement sum of little-endian 16-bit words (a last odd byte as a low byte).</summary>
    private static unsafe ulong Partial(byte* data, uint length, uint seed)
    {
        ulong sum = seed;
        for (var i = 0; i + 1 < length; i += 2)
            sum += (ulong)(data[i] | data[i + 1] << 8);
        if ((length & 1) != 0)
            sum += data[length - 1];
        while (sum >> 32 != 0)
            sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        return sum;
    }

    /// <summary>
    /// <c>bpf_trace_printk</c>: writes a line to the kernel's trace pipe (<c>/sys/kernel/tracing/trace_pipe</c>) from a
    /// constant <paramref name="format"/> with up to three integer arguments (<c>%d %i %u %x</c>, with <c>l</c>/<c>ll</c>).
    /// For debugging only: it is slow and GPL-only. In .NET the line goes to <see cref="TraceWriter"/>.
    /// </summary>
    [BpfHelper(6, GplOnly = true)]
    public static long TracePrintk(string format, ulong arg1 = 0, ulong arg2 = 0, ulong arg3 = 0)
    {
        var args = new[] { arg1, arg2, arg3 };
        var text = new System.Text.StringBuilder();
        var next = 0;
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length)
            {
                text.Append(format[i]);
                continue;
            }

            var j = i + 1;
            var longs = 0;
            while (j < format.Length && format[j] == 'l')
            {
                longs++;
                j++;
            }

            if (j >= format.Length || next >= args.Length || format[j] is not ('d' or 'i' or 'u' or 'x'))
            {
                text.Append(format[i]);
                continue;
            }

            var value = args[next++];
            text.Append(format[j] switch
            {
                'x' => (longs == 0 ? (uint)value : value).ToString("x"),
                'u' => (longs == 0 ? (uint)value : value).ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => (longs == 0 ? (int)value : (long)value).ToString(System.Globalization.CultureInfo.InvariantCulture),
            });
            i = j;
        }

        var line = text.ToString();
        TraceWriter.Write(line);
        return line.Length;
    }

    /// <summary>Where <see cref="TracePrintk"/> writes when a program runs in .NET (nowhere by default).</summary>
    public static TextWriter TraceWriter { get; set; } = TextWriter.Null;

    /// <summary>The interface of this thread's last <see cref="Redirect"/> (for tests; not available to programs).</summary>
    public static uint LastRedirectInterface => t_lastRedirect;
}

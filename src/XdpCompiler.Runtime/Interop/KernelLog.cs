using System.Runtime.InteropServices;
using System.Text;

namespace XdpCompiler.Runtime.Interop;

/// <summary>
/// Runs a bpf() command that writes a log (program or BTF load) with a buffer that grows until the whole log fits: the
/// kernel answers ENOSPC when the log did not fit, and since 6.4 says how much it needed.
/// </summary>
internal static unsafe class KernelLog
{
    internal const uint InitialSize = 64 * 1024;

    /// <summary>One attempt with this buffer; returns the bpf() result and the kernel's log_true_size (0 if unknown).</summary>
    internal delegate int Attempt(byte* buffer, uint size, out uint trueSize);

    internal static (int Result, string Log) Capture(Attempt attempt)
    {
        var size = InitialSize;
        while (true)
        {
            var buffer = (byte*)NativeMemory.Alloc(size);
            try
            {
                buffer[0] = 0;
                var result = attempt(buffer, size, out var trueSize);
                var length = new ReadOnlySpan<byte>(buffer, (int)size).IndexOf((byte)0);
                if (length < 0)
                    length = (int)size;
                var log = Encoding.UTF8.GetString(buffer, length);
                var truncated = result == -Errno.ENOSPC && (trueSize > size || (trueSize == 0 && length >= size - 1));
                if (!truncated || size >= BpfLimits.MaxLogSize)
                    return (result, log);
                size = trueSize > size ? trueSize : (uint)Math.Min((ulong)size * 2, BpfLimits.MaxLogSize);
                size = Math.Min(size, BpfLimits.MaxLogSize);
            }
            finally
            {
                NativeMemory.Free(buffer);
            }
        }
    }
}

using System.Runtime.InteropServices;
using XdpCompiler.Runtime.Interop;

namespace XdpCompiler.Runtime;

/// <summary>
/// A file descriptor this process owns (a map, program, BTF object, link, or the runtime's netlink socket), closed
/// exactly once when disposed. 0 is a valid descriptor; only negative values are invalid.
/// </summary>
public sealed class BpfFd : SafeHandle
{
    private static long s_finalizedWithoutDispose;

    public BpfFd()
        : base(new IntPtr(-1), ownsHandle: true)
    {
    }

    internal BpfFd(int fd)
        : this() => SetHandle(new IntPtr(fd));

    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>The descriptor number (throws once the handle is closed).</summary>
    public int Value
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return (int)handle.ToInt64();
        }
    }

    /// <summary>
    /// How many descriptors the garbage collector had to close because their owner was never disposed. The runtime
    /// disposes every descriptor it creates, on success and on failure; tests assert this stays unchanged.
    /// </summary>
    public static long FinalizedWithoutDispose => Interlocked.Read(ref s_finalizedWithoutDispose);

    public override string ToString() => IsClosed ? "fd (closed)" : $"fd {handle.ToInt64()}";

    protected override bool ReleaseHandle() => Libc.Close((int)handle.ToInt64()) == 0;

    protected override void Dispose(bool disposing)
    {
        if (!disposing && !IsInvalid && !IsClosed)
            Interlocked.Increment(ref s_finalizedWithoutDispose);
        base.Dispose(disposing);
    }
}

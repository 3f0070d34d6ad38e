using System.Runtime.InteropServices;

namespace XdpCompiler.Runtime.Interop;

/// <summary>Linux errno values the runtime reacts to, and the symbolic name of any errno for messages.</summary>
public static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int ENXIO = 6;
    public const int E2BIG = 7;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EFAULT = 14;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int EXDEV = 18;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int ENFILE = 23;
    public const int EMFILE = 24;
    public const int ENOSPC = 28;
    public const int ERANGE = 34;
    public const int ENOSYS = 38;
    public const int ELOOP = 40;
    public const int ENOLINK = 67;
    public const int EOVERFLOW = 75;
    public const int ENOTSOCK = 88;
    public const int EOPNOTSUPP = 95;
    public const int EADDRNOTAVAIL = 99;
    public const int ENETDOWN = 100;
    public const int ETIMEDOUT = 110;
    /// <summary>The kernel-internal "not supported" that bpf() leaks to user space (no libc name).</summary>
    public const int ENOTSUPP = 524;

    private static readonly Dictionary<int, string> Names = new()
    {
        [EPERM] = "EPERM", [ENOENT] = "ENOENT", [ESRCH] = "ESRCH", [EINTR] = "EINTR", [EIO] = "EIO", [ENXIO] = "ENXIO",
        [E2BIG] = "E2BIG", [EBADF] = "EBADF", [EAGAIN] = "EAGAIN", [ENOMEM] = "ENOMEM", [EACCES] = "EACCES",
        [EFAULT] = "EFAULT", [EBUSY] = "EBUSY", [EEXIST] = "EEXIST", [EXDEV] = "EXDEV", [ENODEV] = "ENODEV",
        [EINVAL] = "EINVAL", [ENFILE] = "ENFILE", [EMFILE] = "EMFILE", [ENOSPC] = "ENOSPC", [ERANGE] = "ERANGE",
        [ENOSYS] = "ENOSYS", [ELOOP] = "ELOOP", [ENOLINK] = "ENOLINK", [EOVERFLOW] = "EOVERFLOW", [ENOTSOCK] = "ENOTSOCK", [EOPNOTSUPP] = "EOPNOTSUPP", [EADDRNOTAVAIL] = "EADDRNOTAVAIL",
        [ENETDOWN] = "ENETDOWN", [ETIMEDOUT] = "ETIMEDOUT", [ENOTSUPP] = "ENOTSUPP",
    };

    /// <summary>"EPERM" for 1; "errno 123" for values without a name here.</summary>
    public static string Name(int errno) => Names.TryGetValue(errno, out var name) ? name : $"errno {errno}";

    /// <summary>libc's text for the errno ("Operation not permitted").</summary>
    public static string Describe(int errno) => errno == ENOTSUPP
        ? "Operation not supported by this kernel"
        : Marshal.GetPInvokeErrorMessage(errno);
}

using System.Runtime.InteropServices;

namespace XdpCompiler.Runtime.Interop;

// The few libc entry points the runtime needs. Nothing of ours is native: bpf() has no glibc wrapper, so it goes
// through syscall(2); everything else is an ordinary libc function.
internal static unsafe partial class Libc
{
    private const string Library = "libc";

    [LibraryImport(Library, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long Syscall(long number, long arg1, void* arg2, long arg3);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    [LibraryImport(Library, EntryPoint = "if_nametoindex", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial uint IfNameToIndex(string name);

    [LibraryImport(Library, EntryPoint = "if_indextoname", SetLastError = true)]
    internal static partial byte* IfIndexToName(uint index, byte* name);

    [LibraryImport(Library, EntryPoint = "socket", SetLastError = true)]
    internal static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Library, EntryPoint = "bind", SetLastError = true)]
    internal static partial int Bind(int fd, void* address, uint addressLength);

    [LibraryImport(Library, EntryPoint = "send", SetLastError = true)]
    internal static partial nint Send(int fd, void* buffer, nuint length, int flags);

    [LibraryImport(Library, EntryPoint = "recv", SetLastError = true)]
    internal static partial nint Recv(int fd, void* buffer, nuint length, int flags);

    [LibraryImport(Library, EntryPoint = "setsockopt", SetLastError = true)]
    internal static partial int SetSockOpt(int fd, int level, int name, void* value, uint length);

    [LibraryImport(Library, EntryPoint = "getsockopt", SetLastError = true)]
    internal static partial int GetSockOpt(int fd, int level, int name, void* value, uint* length);

    [LibraryImport(Library, EntryPoint = "sendto", SetLastError = true)]
    internal static partial nint SendTo(int fd, void* buffer, nuint length, int flags, void* address, uint addressLength);

    [LibraryImport(Library, EntryPoint = "mmap", SetLastError = true)]
    internal static partial void* Mmap(void* address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport(Library, EntryPoint = "munmap", SetLastError = true)]
    internal static partial int Munmap(void* address, nuint length);

    [LibraryImport(Library, EntryPoint = "epoll_create1", SetLastError = true)]
    internal static partial int EpollCreate1(int flags);

    [LibraryImport(Library, EntryPoint = "epoll_ctl", SetLastError = true)]
    internal static partial int EpollCtl(int epollFd, int operation, int fd, void* epollEvent);

    [LibraryImport(Library, EntryPoint = "epoll_wait", SetLastError = true)]
    internal static partial int EpollWait(int epollFd, void* events, int maxEvents, int timeoutMilliseconds);

    [LibraryImport(Library, EntryPoint = "eventfd", SetLastError = true)]
    internal static partial int EventFd(uint initial, int flags);

    [LibraryImport(Library, EntryPoint = "read", SetLastError = true)]
    internal static partial nint Read(int fd, void* buffer, nuint count);

    [LibraryImport(Library, EntryPoint = "write", SetLastError = true)]
    internal static partial nint Write(int fd, void* buffer, nuint count);

    internal const int IfNameSize = 16;

    internal const int ProtRead = 1;
    internal const int ProtWrite = 2;
    internal const int MapShared = 1;
    internal static readonly void* MapFailed = (void*)-1;

    internal const int EpollCloexec = 0x80000;
    internal const int EpollCtlAdd = 1;
    internal const uint EpollIn = 1;
    internal const int EfdCloexec = 0x80000;
    internal const int EfdNonblock = 0x800;

    /// <summary>
    /// Writes a <c>struct epoll_event</c> into <paramref name="buffer"/>: x86-64 packs it (12 bytes, data at 4),
    /// every other architecture aligns the 64-bit data to 8 (16 bytes).
    /// </summary>
    internal static int EpollEventSize => RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    internal static void WriteEpollEvent(byte* buffer, uint events, ulong data)
    {
        *(uint*)buffer = events;
        var offset = EpollEventSize == 12 ? 4 : 8;
        System.Runtime.CompilerServices.Unsafe.WriteUnaligned(buffer + offset, data);
    }

    internal const int AfNetlink = 16;
    internal const int SockRaw = 3;
    internal const int SockCloexec = 0x80000;
    internal const int NetlinkRoute = 0;
    internal const int SolSocket = 1;
    internal const int SoRcvtimeo = 20;
}

using System.Runtime.InteropServices;

namespace XdpCompiler.Samples.DdosFilter.Network;

/// <summary>
/// Runs code inside a named network namespace (one made by <c>ip netns add</c>) on a dedicated thread that enters it
/// with setns(2). The network namespace belongs to the thread, not the process, so the rest of the program stays
/// where it is; sockets the code creates belong to the namespace for their whole life, whichever thread uses them
/// afterwards. The thread goes back to its original namespace before it ends.
/// </summary>
public static partial class NamespaceThread
{
    private const int CloneNewNet = 0x40000000;
    private const int OpenReadOnlyCloseOnExec = 0x80000; // O_RDONLY | O_CLOEXEC

    /// <summary>Where <c>ip netns add</c> leaves its namespace handles (<c>/var/run</c> is a link to it on current systems).</summary>
    public static string HandlePath(string namespaceName) =>
        Directory.Exists("/run/netns") ? Path.Combine("/run/netns", namespaceName) : Path.Combine("/var/run/netns", namespaceName);

    public static T Run<T>(string namespaceName, Func<T> body)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = RunHere(namespaceName, body);
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        {
            Name = $"netns {namespaceName}",
            IsBackground = true,
        };
        thread.Start();
        thread.Join();
        if (failure is not null)
            throw failure is InvalidOperationException or TimeoutException or OperationCanceledException
                ? failure
                : new InvalidOperationException($"Running in network namespace {namespaceName} failed: {failure.Message}", failure);
        return result;
    }

    public static void Run(string namespaceName, Action body) => Run(namespaceName, () =>
    {
        body();
        return 0;
    });

    private static T RunHere<T>(string namespaceName, Func<T> body)
    {
        var original = Open("/proc/thread-self/ns/net", "this thread's network namespace");
        try
        {
            var target = Open(HandlePath(namespaceName), $"network namespace {namespaceName}");
            try
            {
                Enter(target, namespaceName);
            }
            finally
            {
                Close(target);
            }
            try
            {
                return body();
            }
            finally
            {
                Enter(original, "the original namespace");
            }
        }
        finally
        {
            Close(original);
        }
    }

    private static int Open(string path, string what)
    {
        var fd = OpenFile(path, OpenReadOnlyCloseOnExec);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new InvalidOperationException($"Could not open {path} ({what}): {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).");
        }
        return fd;
    }

    private static void Enter(int fd, string what)
    {
        if (SetNs(fd, CloneNewNet) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new InvalidOperationException($"setns into {what} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}). It needs CAP_SYS_ADMIN.");
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenFile(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);
}

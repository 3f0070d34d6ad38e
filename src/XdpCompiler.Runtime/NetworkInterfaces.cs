using XdpCompiler.Runtime.Interop;

namespace XdpCompiler.Runtime;

/// <summary>Interface names and indexes in this process's network namespace.</summary>
public static unsafe class NetworkInterfaces
{
    /// <summary>if_nametoindex; a <see cref="BpfException"/> naming the interface when there is none.</summary>
    public static int IndexOf(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var index = Libc.IfNameToIndex(name);
        if (index != 0)
            return checked((int)index);
        var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        throw BpfErrors.Create(BpfOperationKind.InterfaceLookup, $"find network interface {name}", name, errno == 0 ? Errno.ENODEV : errno);
    }

    /// <summary>if_indextoname; null when no interface has this index.</summary>
    public static string? NameOf(int index)
    {
        var buffer = stackalloc byte[Libc.IfNameSize];
        var result = Libc.IfIndexToName((uint)index, buffer);
        return result == null ? null : KernelNames.Read(buffer);
    }
}

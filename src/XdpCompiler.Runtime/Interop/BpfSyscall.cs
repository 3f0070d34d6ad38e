using System.Runtime.InteropServices;

namespace XdpCompiler.Runtime.Interop;

/// <summary>
/// The one door to bpf(2): every map, program, BTF and link operation of the runtime passes through
/// <see cref="Invoke"/>. Tests can put a handler in front of it for the current async flow (so parallel tests do not
/// see each other's handler) to inject failures at any step and prove that nothing leaks.
/// </summary>
internal static unsafe class BpfSyscall
{
    /// <summary>Returns the syscall's non-negative result, or minus the errno.</summary>
    internal delegate int Handler(BpfCommand command, void* attr, uint size);

    private static readonly AsyncLocal<Handler?> Override = new();

    private static readonly long SysBpf = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 321,
        Architecture.Arm64 => 280,
        Architecture.RiscV64 => 280,
        Architecture.LoongArch64 => 280,
        Architecture.X86 => 357,
        Architecture.Arm => 386,
        var other => -1 - (long)other,
    };

    /// <summary>bpf(command, attr, size) through the installed handler, if any.</summary>
    internal static int Invoke(BpfCommand command, void* attr, uint size)
    {
        var handler = Override.Value;
        return handler is null ? Raw(command, attr, size) : handler(command, attr, size);
    }

    /// <summary>bpf(command, &amp;attr, sizeof(attr)).</summary>
    internal static int Invoke<T>(BpfCommand command, ref T attr) where T : unmanaged
    {
        fixed (T* p = &attr)
            return Invoke(command, p, (uint)sizeof(T));
    }

    /// <summary>The real system call, whatever handler is installed.</summary>
    internal static int Raw(BpfCommand command, void* attr, uint size)
    {
        if (SysBpf < 0)
            return -Errno.ENOSYS;
        var result = Libc.Syscall(SysBpf, (long)command, attr, size);
        return result >= 0 ? checked((int)result) : -Marshal.GetLastPInvokeError();
    }

    /// <summary>
    /// Routes bpf() calls made from this async flow to <paramref name="handler"/> until the result is disposed (the
    /// handler may call <see cref="Raw"/> to pass a call through).
    /// </summary>
    internal static IDisposable Intercept(Handler handler)
    {
        var previous = Override.Value;
        Override.Value = handler;
        return new Restore(previous);
    }

    private sealed class Restore(Handler? previous) : IDisposable
    {
        public void Dispose() => Override.Value = previous;
    }
}

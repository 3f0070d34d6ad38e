using Xunit;

namespace XdpCompiler.TestKit;

/// <summary>
/// A fact that needs the real kernel (root on Linux). It is skipped, with the reason, only where the kernel is truly
/// absent; with <c>XDP_REQUIRE_KERNEL=1</c> (CI) it is never skipped, so a missing kernel fails the run instead.
/// </summary>
public sealed class KernelFactAttribute : FactAttribute
{
    public KernelFactAttribute()
    {
        if (Kernel.MissingReason is { } reason && !Kernel.Required)
            Skip = reason;
    }
}

/// <summary>A theory with the same rule as <see cref="KernelFactAttribute"/>.</summary>
public sealed class KernelTheoryAttribute : TheoryAttribute
{
    public KernelTheoryAttribute()
    {
        if (Kernel.MissingReason is { } reason && !Kernel.Required)
            Skip = reason;
    }
}

public static class Kernel
{
    public const string RequireVariable = "XDP_REQUIRE_KERNEL";

    /// <summary>True where CI demands kernel tests run.</summary>
    public static bool Required => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>Why kernel tests cannot run here, or null when they can.</summary>
    public static string? MissingReason { get; } = FindMissingReason();

    private static string? FindMissingReason()
    {
        if (!OperatingSystem.IsLinux())
            return "needs the Linux kernel (bpf() syscall); this is " + System.Runtime.InteropServices.RuntimeInformation.OSDescription;
        if (Environment.UserName != "root" && GetEuid() != 0)
            return "needs root (CAP_BPF, CAP_NET_ADMIN) to load programs and create network namespaces";
        return null;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEuid();
}

using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Core.Tests.Disassembly;

/// <summary>
/// A fact that needs clang-19 and the LLVM 19 binutils. Skipped, with the reason, only where they are missing and
/// <c>XDP_REQUIRE_KERNEL</c> is not "1"; where CI demands the full suite a missing toolchain fails the test instead.
/// </summary>
public sealed class LlvmFactAttribute : FactAttribute
{
    public LlvmFactAttribute()
    {
        if (LlvmTools.MissingReason is { } reason && !Kernel.Required)
            Skip = reason;
    }
}

/// <summary>A theory with the same rule as <see cref="LlvmFactAttribute"/>.</summary>
public sealed class LlvmTheoryAttribute : TheoryAttribute
{
    public LlvmTheoryAttribute()
    {
        if (LlvmTools.MissingReason is { } reason && !Kernel.Required)
            Skip = reason;
    }
}

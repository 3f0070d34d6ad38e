using Xunit;

namespace XdpCompiler.TestKit;

/// <summary>
/// A fact that needs command-line tools, or files when given absolute paths (see <see cref="Tools.Find"/>). Skipped,
/// naming what is missing, only while <c>XDP_REQUIRE_KERNEL</c> is not "1"; in CI a missing tool fails the test instead.
/// Not sealed so a project can name a fixed set of tools once (<c>class LlvmFact() : ToolFact(...)</c>).
/// </summary>
public class ToolFactAttribute : FactAttribute
{
    public ToolFactAttribute(params string[] tools) => Skip = Kernel.Required ? null : Tools.MissingReason(tools);
}

/// <summary>A theory with the same rule as <see cref="ToolFactAttribute"/>.</summary>
public class ToolTheoryAttribute : TheoryAttribute
{
    public ToolTheoryAttribute(params string[] tools) => Skip = Kernel.Required ? null : Tools.MissingReason(tools);
}

/// <summary>A <see cref="KernelFactAttribute"/> that also needs command-line tools: skipped for whichever is missing first.</summary>
public sealed class KernelToolFactAttribute : FactAttribute
{
    public KernelToolFactAttribute(params string[] tools) =>
        Skip = Kernel.Required ? null : Kernel.MissingReason ?? Tools.MissingReason(tools);
}

/// <summary>A <see cref="KernelTheoryAttribute"/> that also needs command-line tools.</summary>
public sealed class KernelToolTheoryAttribute : TheoryAttribute
{
    public KernelToolTheoryAttribute(params string[] tools) =>
        Skip = Kernel.Required ? null : Kernel.MissingReason ?? Tools.MissingReason(tools);
}

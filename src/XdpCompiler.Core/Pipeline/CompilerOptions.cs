namespace XdpCompiler.Core.Pipeline;

/// <summary>The eBPF instruction set version the code may use (clang's <c>-mcpu</c>).</summary>
public enum CpuVersion
{
    /// <summary>ALU32 and JMP32 (kernel 5.1+); the default, as for clang's -mcpu=v3.</summary>
    V3 = 3,

    /// <summary>Adds signed division and remainder and sign-extending moves (kernel 6.6+).</summary>
    V4 = 4,
}

/// <summary>How to compile: part of every cached result, so changing it recompiles.</summary>
public sealed record CompilerOptions(CpuVersion Cpu = CpuVersion.V3)
{
    public static CompilerOptions Default { get; } = new();

    /// <summary>Reads the MSBuild property value ("v3", "v4", case-insensitive; empty for the default).</summary>
    public static CompilerOptions Parse(string? cpu) => cpu?.Trim().ToLowerInvariant() switch
    {
        "v4" or "4" => new CompilerOptions(CpuVersion.V4),
        _ => Default,
    };
}

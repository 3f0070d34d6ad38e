using XdpCompiler.Core.Backend;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// How many instructions write each register. A virtual register written once holds the same value wherever it is
/// read after that write, which is what passes that move or reuse computations rely on.
/// </summary>
internal sealed class DefinitionCounts
{
    private readonly Dictionary<int, int> _counts = new();

    public DefinitionCounts(IrFunction function)
    {
        foreach (var def in function.Blocks.SelectMany(b => b.Instructions).SelectMany(Liveness.Defs))
            _counts[def] = _counts.TryGetValue(def, out var n) ? n + 1 : 1;
    }

    /// <summary>A virtual register written by exactly one instruction.</summary>
    public bool Once(int register) => !Ir.IsPhysical(register) && _counts.TryGetValue(register, out var n) && n == 1;

    /// <summary>A base address that is the same wherever it is read: written once, or the frame pointer.</summary>
    public bool Stable(int register) => register == Reg.R10 || Once(register);
}

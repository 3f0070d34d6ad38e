using XdpCompiler.Core.Backend;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// Removes instructions whose only effect is a virtual register nobody reads (what folding and lowering leave behind).
/// Loads go too: an unused packet load has no effect the program can observe.
/// </summary>
internal static class DeadCodeElimination
{
    public static void Run(IrFunction function)
    {
        bool changed;
        do
        {
            changed = false;
            var liveOut = Liveness.Compute(function);
            foreach (var block in function.Blocks)
            {
                var live = new HashSet<int>(liveOut[block]);
                live.UnionWith(Liveness.Uses(block.Terminator));
                for (var i = block.Instructions.Count - 1; i >= 0; i--)
                {
                    var instruction = block.Instructions[i];
                    var defs = Liveness.Defs(instruction);
                    if (IsPure(instruction) && defs.All(d => !Ir.IsPhysical(d) && !live.Contains(d)))
                    {
                        block.Instructions.RemoveAt(i);
                        changed = true;
                        continue;
                    }

                    live.ExceptWith(defs);
                    live.UnionWith(Liveness.Uses(instruction));
                }
            }
        }
        while (changed);
    }

    private static bool IsPure(IrInstr instruction) =>
        instruction is ConstInstr or MovInstr or BinaryInstr or NegInstr or ExtendInstr or SwapInstr or LoadInstr or LoadMapInstr or LoadGlobalInstr;
}

using XdpCompiler.Core.Backend;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// Replaces the uses of "dst = src" by src where both are single-definition virtual registers: src's definition
/// dominates the copy, which dominates every use of dst, and src never changes, so they hold the same value there.
/// Redundancy elimination leaves such copies, and reading through them lets it find more repeated work.
/// </summary>
internal static class CopyPropagation
{
    public static void Run(IrFunction function)
    {
        var definitions = new Dictionary<int, int>();
        foreach (var instruction in function.Blocks.SelectMany(b => b.Instructions))
        {
            foreach (var def in Liveness.Defs(instruction))
                definitions[def] = definitions.TryGetValue(def, out var n) ? n + 1 : 1;
        }

        bool Single(int register) => !Ir.IsPhysical(register) && definitions.TryGetValue(register, out var n) && n == 1;

        var replacement = new Dictionary<int, int>();
        foreach (var instruction in function.Blocks.SelectMany(b => b.Instructions))
        {
            if (instruction is MovInstr { Width: Width.W64 } copy && Single(copy.Dst) && Single(copy.Src))
                replacement[copy.Dst] = copy.Src;
        }

        if (replacement.Count == 0)
            return;

        int Resolve(int register)
        {
            for (var guard = 0; guard < 64 && replacement.TryGetValue(register, out var source); guard++)
                register = source;
            return register;
        }

        foreach (var block in function.Blocks)
        {
            for (var i = 0; i < block.Instructions.Count; i++)
            {
                var instruction = block.Instructions[i];
                foreach (var use in Liveness.Uses(instruction).Where(replacement.ContainsKey).ToList())
                    instruction = RenameUse(instruction, use, Resolve(use));
                block.Instructions[i] = instruction;
            }

            if (block.Terminator is BranchTerm branch)
            {
                foreach (var use in Liveness.Uses(branch).Where(replacement.ContainsKey).ToList())
                    branch = Liveness.Rename(branch, use, Resolve(use));
                block.Terminator = branch;
            }
        }
    }

    /// <summary>
    /// Within each block, reads of "t = x" read x instead while neither changes, and "x = x" goes. This reaches the
    /// locals that <see cref="Run"/> cannot (several definitions): "t = score; score = t" is what an assignment to a
    /// local leaves once <see cref="DemandedBits"/> has dropped the operation in between.
    /// </summary>
    public static void RunLocal(IrFunction function)
    {
        foreach (var block in function.Blocks)
        {
            var copyOf = new Dictionary<int, int>();
            for (var i = 0; i < block.Instructions.Count; i++)
            {
                var instruction = block.Instructions[i];
                foreach (var use in Liveness.Uses(instruction).Where(copyOf.ContainsKey).ToList())
                    instruction = RenameUse(instruction, use, copyOf[use]);
                if (instruction is MovInstr { Width: Width.W64 } self && self.Dst == self.Src)
                {
                    block.Instructions.RemoveAt(i--);
                    continue;
                }

                block.Instructions[i] = instruction;
                foreach (var def in Liveness.Defs(instruction))
                {
                    copyOf.Remove(def);
                    foreach (var stale in copyOf.Where(pair => pair.Value == def).Select(pair => pair.Key).ToList())
                        copyOf.Remove(stale);
                }

                // Only virtual sources: reading R0-R5 later would stretch them across calls and argument set-up.
                if (instruction is MovInstr { Width: Width.W64 } copy && !Ir.IsPhysical(copy.Dst) && !Ir.IsPhysical(copy.Src))
                    copyOf[copy.Dst] = copy.Src;
            }

            if (block.Terminator is BranchTerm branch)
            {
                foreach (var use in Liveness.Uses(branch).Where(copyOf.ContainsKey).ToList())
                    branch = Liveness.Rename(branch, use, copyOf[use]);
                block.Terminator = branch;
            }
        }
    }

    /// <summary>Renames a register where the instruction reads it, never where it writes it.</summary>
    private static IrInstr RenameUse(IrInstr instruction, int from, int to)
    {
        var defs = Liveness.Defs(instruction);
        if (!defs.Contains(from))
            return Liveness.Rename(instruction, from, to);
        // Read and written (a fetching atomic): leave it; the copy stays and dead-code removal keeps it.
        return instruction;
    }
}

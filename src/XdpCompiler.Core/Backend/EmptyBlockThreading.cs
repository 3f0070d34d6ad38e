using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Backend;

/// <summary>
/// After register allocation a copy whose two registers got the same colour emits nothing, and a block that held
/// only such copies is a bare "goto": the ternary "t = c ? x : y" with y already in t's register ends as "if c goto
/// L; goto J; L: t = x; J:". Dropping those copies and sending every edge into an empty block straight to where it
/// goes lets the branch fall into "t = x" and jump to J itself: one jump fewer on the path, one instruction fewer.
/// Only what the emitter would skip anyway is removed, so the code is otherwise the same.
/// </summary>
internal static class EmptyBlockThreading
{
    public static void Run(IrFunction function, Dictionary<int, int> colours)
    {
        int P(int register) => Ir.IsPhysical(register) ? register : colours[register];
        var emptied = false;
        foreach (var block in function.Blocks)
        {
            // A 32-bit copy is emitted even onto itself: it clears the upper half.
            if (block.Instructions.RemoveAll(i => i is MovInstr { Width: Width.W64 } m && P(m.Dst) == P(m.Src)) > 0)
                emptied = true;
        }

        if (!emptied)
            return;

        foreach (var block in function.Blocks)
        {
            block.Terminator = block.Terminator switch
            {
                JumpTerm jump => jump with { Target = Forward(jump.Target) },
                BranchTerm branch when Forward(branch.True) == Forward(branch.False) => new JumpTerm(Forward(branch.True)) { Source = branch.Source },
                BranchTerm branch => branch with { True = Forward(branch.True), False = Forward(branch.False) },
                var other => other,
            };
        }

        function.RemoveUnreachableBlocks();
    }

    private static IrBlock Forward(IrBlock target)
    {
        var seen = new HashSet<IrBlock>();
        while (target is { Instructions.Count: 0, Terminator: JumpTerm { Target: var next } } && seen.Add(target))
            target = next;
        return target;
    }
}

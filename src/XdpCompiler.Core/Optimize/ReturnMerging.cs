using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// Every "return XdpAction.Pass;" becomes a block "r0 = 2; exit". Keeping one such block per value, at the end of the
/// function, lets each early return be a single conditional jump ("if r3 > r1 goto pass") instead of a jump around
/// two instructions — the shape clang gives the same code.
/// </summary>
internal static class ReturnMerging
{
    public static void Run(IrFunction function)
    {
        var canonical = new Dictionary<long, IrBlock>();
        var replace = new Dictionary<IrBlock, IrBlock>();
        foreach (var block in function.Blocks.Skip(1))
        {
            if (block.Terminator is ExitTerm && block.Instructions.Count == 1 && block.Instructions[0] is ConstInstr { Dst: Reg.R0 } constant)
            {
                if (canonical.TryGetValue(constant.Value, out var first))
                    replace[block] = first;
                else
                    canonical[constant.Value] = block;
            }
        }

        if (replace.Count == 0)
            return;

        IrBlock Target(IrBlock b) => replace.TryGetValue(b, out var r) ? r : b;
        foreach (var block in function.Blocks)
        {
            block.Terminator = block.Terminator switch
            {
                JumpTerm jump => jump with { Target = Target(jump.Target) },
                BranchTerm branch => branch with { True = Target(branch.True), False = Target(branch.False) },
                var other => other,
            };
        }

        function.Blocks.RemoveAll(replace.ContainsKey);
        // A shared exit goes right after the last block that jumps to it unconditionally (that jump then falls
        // through), or last, so the branches to it point forward.
        foreach (var exit in canonical.Values.Where(b => function.Blocks.Contains(b)))
        {
            function.Blocks.Remove(exit);
            var jumper = function.Blocks.LastOrDefault(b => b.Terminator is JumpTerm jump && jump.Target == exit);
            function.Blocks.Insert(jumper is null ? function.Blocks.Count : function.Blocks.IndexOf(jumper) + 1, exit);
        }
    }
}

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
        DuplicateCopyingExits(function);

        // "v = 2; goto L" where L is "r0 = v; exit": copy the tiny exit into the jumping block, then set r0 directly
        // (after an exit nothing but r0 is read, so v is dead there).
        foreach (var block in function.Blocks)
        {
            // ("r0 = 2; exit" targets stay: they are shared below and placed where the jump falls into them.)
            if (block.Terminator is JumpTerm { Target: { Instructions.Count: <= 1, Terminator: ExitTerm } exit } jump &&
                !exit.Instructions.Any(i => i is ConstInstr))
            {
                block.Instructions.AddRange(exit.Instructions);
                block.Terminator = new ExitTerm { Source = jump.Source };
            }

            ForwardConstantToR0(block);
            var count = block.Instructions.Count;
            if (block.Terminator is ExitTerm && count >= 2 &&
                block.Instructions[count - 2] is ConstInstr constant && block.Instructions[count - 1] is MovInstr { Dst: Reg.R0, Width: Width.W64 } copy &&
                copy.Src == constant.Dst)
            {
                block.Instructions.RemoveRange(count - 2, 2);
                block.Instructions.Add(new ConstInstr(Reg.R0, constant.Value) { Source = constant.Source });
            }
        }

        // "...; r0 = K; exit" at the end of a longer block ends in a jump to its own "r0 = K; exit" instead, which the
        // sharing below merges with the other returns of K: a second "return Tx" then costs a jump, not two instructions.
        foreach (var block in function.Blocks.Skip(1).ToList())
        {
            var count = block.Instructions.Count;
            if (block.Terminator is ExitTerm exitTerm && count >= 2 && block.Instructions[count - 1] is ConstInstr { Dst: Reg.R0 } value)
            {
                var tail = function.NewBlockDetached();
                tail.Instructions.Add(value);
                tail.Terminator = exitTerm;
                block.Instructions.RemoveAt(count - 1);
                block.Terminator = new JumpTerm(tail) { Source = exitTerm.Source };
                function.Blocks.Insert(function.Blocks.IndexOf(block) + 1, tail);
            }
        }

        function.RemoveUnreachableBlocks();
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

    /// <summary>
    /// A value chosen on several paths and returned ("return c == 0 ? Drop : c == 1 ? Tx : Pass") reaches the exit
    /// through blocks that only copy it: "v = 3; goto L", L: "w = v; goto M", M: "r0 = w; exit". Each such exit is
    /// copied into the blocks that jump to it, so every path ends in its own "r0 = K; exit" that the sharing below
    /// can merge with the other returns of K.
    /// </summary>
    private static void DuplicateCopyingExits(IrFunction function)
    {
        const int MaxCopies = 3;
        bool changed;
        var duplicated = false;
        do
        {
            changed = false;
            foreach (var block in function.Blocks)
            {
                if (block.Terminator is JumpTerm { Target: { Terminator: ExitTerm } exit } jump && exit != block &&
                    exit.Instructions.Count <= MaxCopies && exit.Instructions.All(i => i is MovInstr or ConstInstr) &&
                    !(exit.Instructions.Count == 1 && exit.Instructions[0] is ConstInstr { Dst: Reg.R0 }))
                {
                    block.Instructions.AddRange(exit.Instructions);
                    block.Terminator = new ExitTerm { Source = exit.Terminator.Source ?? jump.Source };
                    changed = duplicated = true;
                }
            }
        }
        while (changed);

        if (!duplicated)
            return;
        function.RemoveUnreachableBlocks();
        foreach (var block in function.Blocks)
            ForwardConstantToR0(block);
        DeadCodeElimination.Run(function);
    }

    /// <summary>"v = K; ...; r0 = v; exit" with v unchanged in between sets r0 = K (v is dead after the exit).</summary>
    private static void ForwardConstantToR0(IrBlock block)
    {
        var count = block.Instructions.Count;
        if (block.Terminator is not ExitTerm || count < 2 || block.Instructions[count - 1] is not MovInstr { Dst: Reg.R0, Width: Width.W64 } copy)
            return;
        var constants = new Dictionary<int, long>();
        foreach (var instruction in block.Instructions.Take(count - 1))
        {
            foreach (var def in Backend.Liveness.Defs(instruction))
                constants.Remove(def);
            if (instruction is ConstInstr c)
                constants[c.Dst] = c.Value;
            else if (instruction is MovInstr { Width: Width.W64 } m && constants.TryGetValue(m.Src, out var value))
                constants[m.Dst] = value;
        }

        if (constants.TryGetValue(copy.Src, out var constant))
            block.Instructions[count - 1] = new ConstInstr(Reg.R0, constant) { Source = copy.Source };
    }
}

using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Backend;

/// <summary>
/// Block order decides which edges fall through. A bit test is the one branch that cannot simply be inverted (the
/// ISA has <c>jset</c> but no "jump if clear"), so a test whose "set" target is the next block costs a jset over a
/// goto. Moving the "clear" target right behind the test makes it fall through instead, when that costs no jump
/// elsewhere and every jump still points forward.
/// </summary>
internal static class BlockLayout
{
    public static void Run(IrFunction function)
    {
        var blocks = function.Blocks;
        for (var i = 0; i + 1 < blocks.Count; i++)
        {
            if (blocks[i].Terminator is not BranchTerm { Condition: Condition.Set or Condition.Clear } test)
                continue;
            var setTarget = test.Condition == Condition.Set ? test.True : test.False;
            var clearTarget = test.Condition == Condition.Set ? test.False : test.True;
            if (setTarget != blocks[i + 1] || clearTarget == setTarget)
                continue;
            var from = blocks.IndexOf(clearTarget);
            if (from <= i + 1)
                continue;
            var before = Cost(blocks);
            blocks.RemoveAt(from);
            blocks.Insert(i + 1, clearTarget);
            if (Cost(blocks) >= before || !Forward(blocks))
            {
                blocks.RemoveAt(i + 1);
                blocks.Insert(from, clearTarget);
            }
        }

        MaskWhereClearMustJump(function);
    }

    /// <summary>
    /// Where the "set" target still comes next, "jset x, m → set; goto clear" becomes "x &amp;= m; if x == 0 goto
    /// clear", when x is not read afterwards (so the mask needs no copy): the same two instructions, but the way to
    /// the clear target takes one jump instead of two, and the way to the set target falls through instead of jumping
    /// (a taken jump costs the CPU about what three instructions do).
    /// </summary>
    private static void MaskWhereClearMustJump(IrFunction function)
    {
        var blocks = function.Blocks;
        Dictionary<IrBlock, HashSet<int>>? liveOut = null;
        for (var i = 0; i + 1 < blocks.Count; i++)
        {
            if (blocks[i].Terminator is not BranchTerm { Condition: Condition.Set or Condition.Clear, Right.IsImmediate: true } test ||
                Ir.IsPhysical(test.Left))
            {
                continue;
            }

            var setTarget = test.Condition == Condition.Set ? test.True : test.False;
            var clearTarget = test.Condition == Condition.Set ? test.False : test.True;
            if (setTarget != blocks[i + 1] || clearTarget == setTarget)
                continue;
            liveOut ??= Liveness.Compute(function);
            if (liveOut[blocks[i]].Contains(test.Left))
                continue;
            var masked = function.NewRegister();
            blocks[i].Instructions.Add(new BinaryInstr(BinaryOp.And, test.Width, masked, test.Left, test.Right) { Source = test.Source });
            blocks[i].Terminator = new BranchTerm(Condition.Eq, test.Width, masked, Operand.Imm(0), clearTarget, setTarget) { Source = test.Source };
        }
    }

    /// <summary>Jump instructions the emitter adds for this order (beyond one per conditional branch).</summary>
    private static int Cost(List<IrBlock> blocks)
    {
        var cost = 0;
        for (var i = 0; i < blocks.Count; i++)
        {
            var next = i + 1 < blocks.Count ? blocks[i + 1] : null;
            switch (blocks[i].Terminator)
            {
                case JumpTerm jump when jump.Target != next:
                    cost++;
                    break;
                case BranchTerm branch when CodeEmitter.Orient(branch, next).Fallthrough != next:
                    cost++;
                    break;
            }
        }

        return cost;
    }

    private static bool Forward(List<IrBlock> blocks)
    {
        var index = new Dictionary<IrBlock, int>();
        for (var i = 0; i < blocks.Count; i++)
            index[blocks[i]] = i;
        for (var i = 0; i < blocks.Count; i++)
        {
            if (blocks[i].Successors.Any(s => index[s] <= i))
                return false;
        }

        return true;
    }
}

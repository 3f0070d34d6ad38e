using XdpCompiler.Core.Backend;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// Control-flow clean-up after the passes that empty blocks or decide branches: a branch whose two targets are the
/// same block, or that compares a register with itself, becomes a jump; an edge into an empty block that only jumps on
/// goes straight to where that block goes; a block that is the only way into its successor absorbs it. Straight-line
/// code in one block is what redundancy elimination and peephole rewrites look at, and fewer blocks mean fewer jumps.
/// </summary>
internal static class CfgSimplification
{
    public static void Run(IrFunction function)
    {
        // Threading copies instructions; a bound keeps a cycle of such blocks from growing the code without end.
        var budget = 4 * function.Blocks.Count;
        bool changed;
        do
        {
            changed = false;
            foreach (var block in function.Blocks)
            {
                if (block.Terminator is BranchTerm branch)
                {
                    IrBlock? decided = null;
                    if (branch.True == branch.False)
                        decided = branch.True;
                    else if (!branch.Right.IsImmediate && branch.Right.Register == branch.Left && branch.Condition is not (Condition.Set or Condition.Clear))
                        decided = branch.Condition.Evaluate(branch.Width, 0, 0) ? branch.True : branch.False;
                    if (decided is not null)
                    {
                        block.Terminator = new JumpTerm(decided) { Source = branch.Source };
                        changed = true;
                    }
                }

                if (block.Terminator is JumpTerm into && budget > 0 && Thread(block, into.Target) is var (copied, threadedTo))
                {
                    block.Instructions.AddRange(copied);
                    block.Terminator = into with { Target = threadedTo };
                    budget--;
                    changed = true;
                }

                var threaded = block.Terminator switch
                {
                    JumpTerm jump => jump with { Target = Forward(jump.Target) },
                    BranchTerm conditional => conditional with { True = Forward(conditional.True), False = Forward(conditional.False) },
                    var other => other,
                };
                if (!Equals(threaded, block.Terminator))
                {
                    block.Terminator = threaded;
                    changed = true;
                }
            }

            function.RemoveUnreachableBlocks();
            var incoming = function.IncomingEdges();

            for (var i = 0; i < function.Blocks.Count; i++)
            {
                var block = function.Blocks[i];
                while (block.Terminator is JumpTerm { Target: var next } && next != block && next != function.Blocks[0] &&
                    incoming.TryGetValue(next, out var count) && count == 1)
                {
                    block.Instructions.AddRange(next.Instructions);
                    block.Terminator = next.Terminator;
                    var index = function.Blocks.IndexOf(next);
                    function.Blocks.RemoveAt(index);
                    if (index < i)
                        i--;
                    changed = true;
                }
            }
        }
        while (changed);
    }

    /// <summary>
    /// A jump towards a branch on values this block has just set to constants goes where that branch would:
    /// "t = 1; goto J" with J "u = t; goto K" and K "if u != 0 goto A else B" is "t = 1; u = t; goto A". A bool
    /// materialized and tested at once ("if (v ? !z : many)") then costs no test and no jump; the constants and copies
    /// left behind die if nothing else reads them. The blocks passed through may only copy or set constants (at most
    /// two instructions each, which this block takes over).
    /// </summary>
    private static (List<IrInstr> Copied, IrBlock Target)? Thread(IrBlock block, IrBlock target)
    {
        var copied = new List<IrInstr>();
        var current = target;
        for (var hops = 0; hops < 3 && current != block; hops++)
        {
            if (current.Instructions.Count > 2 || current.Instructions.Any(i => i is not (ConstInstr or MovInstr)))
                return null;
            copied.AddRange(current.Instructions);
            switch (current.Terminator)
            {
                case JumpTerm jump:
                    current = jump.Target;
                    continue;
                case BranchTerm branch when branch.True != branch.False:
                {
                    if (Value(block, copied, copied.Count, branch.Left) is not { } left)
                        return null;
                    var right = branch.Right.IsImmediate ? branch.Right.Immediate : Value(block, copied, copied.Count, branch.Right.Register);
                    if (right is null)
                        return null;
                    return (copied, branch.Condition.Evaluate(branch.Width, left, right.Value) ? branch.True : branch.False);
                }
                default:
                    return null;
            }
        }

        return null;
    }

    /// <summary>The constant a register holds after the block and the first <paramref name="count"/> copied instructions, if known.</summary>
    private static long? Value(IrBlock block, List<IrInstr> copied, int count, int register)
    {
        for (var i = count - 1; i >= 0; i--)
        {
            if (!Liveness.Defs(copied[i]).Contains(register))
                continue;
            return copied[i] switch
            {
                ConstInstr c => c.Value,
                MovInstr { Width: Width.W64 } m => Value(block, copied, i, m.Src),
                MovInstr m => Value(block, copied, i, m.Src) is { } v ? (uint)v : null,
                _ => null,
            };
        }

        for (var i = block.Instructions.Count - 1; i >= 0; i--)
        {
            var instruction = block.Instructions[i];
            if (!Liveness.Defs(instruction).Contains(register))
                continue;
            return instruction switch
            {
                ConstInstr c => c.Value,
                _ => null,
            };
        }

        return null;
    }

    /// <summary>Where control really goes from an edge into <paramref name="target"/>, past empty jump-only blocks.</summary>
    private static IrBlock Forward(IrBlock target)
    {
        var seen = new HashSet<IrBlock>();
        while (target is { Instructions.Count: 0, Terminator: JumpTerm { Target: var next } } && seen.Add(target))
            target = next;
        return target;
    }
}

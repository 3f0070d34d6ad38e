using XdpCompiler.Core.Backend;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// Constants in locals, followed along every path: a register (a C# local, written in several places) holds a known
/// constant at an instruction when every definition that reaches it sets that same constant. "int acc = 0; if (…)
/// acc += t * c;" then adds to a known zero, which is the product itself: a copy the allocator can fold away instead of
/// an add that keeps the zero and the product in two registers. A zero left operand turns add, or and xor into a
/// copy and multiply, and and shifts into the constant zero; a branch on two known values becomes a jump, and a known right operand an immediate. (Not a
/// subtraction: "acc -= t" on a register already holding the zero is one instruction, a negation two.) The other passes see single-definition registers; this is the one that sees through locals.
/// </summary>
internal static class ConstantPropagation
{
    public static void Run(IrFunction function)
    {
        if (function.Blocks.Count == 0)
            return;
        var predecessors = function.Predecessors();

        // What is known on leaving each block; a block not yet reached has no entry (it constrains nothing).
        var exits = new Dictionary<IrBlock, Dictionary<int, long>>();
        bool changed;
        do
        {
            changed = false;
            foreach (var block in function.Blocks)
            {
                var state = Entry(block, function, predecessors, exits);
                if (state is null)
                    continue;
                foreach (var instruction in block.Instructions)
                    Transfer(instruction, state);
                if (!exits.TryGetValue(block, out var previous) || !Same(previous, state))
                {
                    exits[block] = state;
                    changed = true;
                }
            }
        }
        while (changed);

        foreach (var block in function.Blocks)
        {
            var state = Entry(block, function, predecessors, exits);
            if (state is null)
                continue;
            for (var i = 0; i < block.Instructions.Count; i++)
            {
                block.Instructions[i] = Rewrite(block.Instructions[i], state);
                Transfer(block.Instructions[i], state);
            }

            if (block.Terminator is BranchTerm branch && Known(branch.Left, state) is { } left &&
                (branch.Right.IsImmediate ? branch.Right.Immediate : Known(branch.Right.Register, state)) is { } right)
            {
                block.Terminator = new JumpTerm(branch.Condition.Evaluate(branch.Width, left, right) ? branch.True : branch.False) { Source = branch.Source };
            }
        }

        function.RemoveUnreachableBlocks();
    }

    /// <summary>The constants every reached predecessor agrees on; nothing at the entry; null while no predecessor is reached.</summary>
    private static Dictionary<int, long>? Entry(IrBlock block, IrFunction function, Dictionary<IrBlock, List<IrBlock>> predecessors,
        Dictionary<IrBlock, Dictionary<int, long>> exits)
    {
        if (block == function.Blocks[0])
            return new Dictionary<int, long>();
        return DataFlow.Intersect(predecessors[block].Where(exits.ContainsKey).Select(p => exits[p]), (a, b) => a == b);
    }

    private static void Transfer(IrInstr instruction, Dictionary<int, long> state)
    {
        long? value = instruction switch
        {
            ConstInstr c => c.Value,
            MovInstr { Width: Width.W64 } m => Known(m.Src, state),
            MovInstr m => Known(m.Src, state) is { } v ? (uint)v : null,
            _ => null,
        };
        foreach (var def in Liveness.Defs(instruction))
        {
            if (value is { } known && !Ir.IsPhysical(def))
                state[def] = known;
            else
                state.Remove(def);
        }
    }

    private static long? Known(int register, Dictionary<int, long> state) => state.TryGetValue(register, out var value) ? value : null;

    private static IrInstr Rewrite(IrInstr instruction, Dictionary<int, long> state)
    {
        if (instruction is not BinaryInstr b)
            return instruction;
        // A known right operand is an immediate ("Interlocked.Increment" adds the register it fetched with, holding
        // 1): one register fewer to keep, and the immediate forms fold further. Not for a divisor, whose checks the
        // frontend made for a register, nor a shift count the verifier would reject as an immediate.
        if (!b.Right.IsImmediate && Known(b.Right.Register, state) is { } right &&
            b.Op is not (BinaryOp.DivUnsigned or BinaryOp.ModUnsigned or BinaryOp.DivSigned or BinaryOp.ModSigned) &&
            (b.Width == Width.W32 || right is >= int.MinValue and <= int.MaxValue) &&
            (b.Op is not (BinaryOp.Shl or BinaryOp.ShrUnsigned or BinaryOp.ShrSigned) || right >= 0 && right < (int)b.Width))
        {
            b = b with { Right = Operand.Imm(b.Width == Width.W32 ? unchecked((int)right) : right) };
            instruction = b;
        }

        if (Known(b.Left, state) is not 0)
            return instruction;
        var source = instruction.Source;
        switch (b.Op)
        {
            case BinaryOp.Add or BinaryOp.Or or BinaryOp.Xor when !b.Right.IsImmediate:
                return new MovInstr(b.Dst, b.Right.Register, b.Width) { Source = source };
            case BinaryOp.Mul or BinaryOp.And or BinaryOp.Shl or BinaryOp.ShrUnsigned or BinaryOp.ShrSigned:
                return new ConstInstr(b.Dst, 0) { Source = source };
            default:
                return instruction;
        }
    }

    private static bool Same(Dictionary<int, long> a, Dictionary<int, long> b) =>
        a.Count == b.Count && a.All(pair => b.TryGetValue(pair.Key, out var value) && value == pair.Value);
}

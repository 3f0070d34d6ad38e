using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// "if (x has bit k) v += c" without a branch: <c>v += ((x >> k) &amp; 1) &lt;&lt; log2(c)</c>. eBPF has a jump for a set
/// bit (jset) but none for a clear one, so when the guarded block runs on a set bit it must sit out of line and cost a
/// jset, a goto back and its own instruction, and the verifier explores both ways. The shift form costs at most the
/// same three instructions — two when the bit is the lowest or the sign bit — and no jump. Only a block that does
/// nothing but add, or or xor a power-of-two constant into a register, reached from the test alone, is converted.
/// </summary>
internal static class BitTestIfConversion
{
    public static void Run(IrFunction function)
    {
        var incoming = function.IncomingEdges();

        var changed = false;
        foreach (var block in function.Blocks)
        {
            if (block.Terminator is not BranchTerm { Right.IsImmediate: true } branch || branch.True == branch.False)
                continue;
            // The block that runs when the bit is set, and the one both ways meet in.
            var (arm, join) = branch.Condition switch
            {
                Condition.Set => (branch.True, branch.False),
                Condition.Clear => (branch.False, branch.True),
                _ => (null, null),
            };
            if (arm is null || join is null || arm == block || !incoming.TryGetValue(arm, out var armEdges) || armEdges != 1 ||
                arm.Terminator is not JumpTerm { Target: var after } || after != join ||
                arm.Instructions.Count != 1 || arm.Instructions[0] is not BinaryInstr { Op: BinaryOp.Add or BinaryOp.Or or BinaryOp.Xor } update ||
                update.Dst != update.Left || update.Dst < Ir.FirstVirtual || !update.Right.IsImmediate)
            {
                continue;
            }

            var bits = branch.Width == Width.W64 ? 64 : 32;
            var mask = unchecked((ulong)branch.Right.Immediate) & Bits.Of(branch.Width);
            var amount = unchecked((ulong)update.Right.Immediate);
            if (!Bits.IsPowerOfTwo(mask) || !Bits.IsPowerOfTwo(amount) || amount > 1UL << 30)
                continue;
            var bit = Bits.Log2(mask);
            var scale = Bits.Log2(amount);
            // Lowest or sign bit, or an increment by 1: no more instructions than the branch it replaces.
            if (!(bit == 0 || bit == bits - 1 || scale == 0))
                continue;

            var instructions = block.Instructions;
            var value = branch.Left;
            if (bit != 0)
            {
                var shifted = function.NewRegister();
                instructions.Add(new BinaryInstr(BinaryOp.ShrUnsigned, branch.Width, shifted, value, Operand.Imm(bit)) { Source = branch.Source });
                value = shifted;
            }
            if (bit != bits - 1)
            {
                var masked = function.NewRegister();
                instructions.Add(new BinaryInstr(BinaryOp.And, branch.Width, masked, value, Operand.Imm(1)) { Source = branch.Source });
                value = masked;
            }
            if (scale != 0)
            {
                var scaled = function.NewRegister();
                instructions.Add(new BinaryInstr(BinaryOp.Shl, update.Width, scaled, value, Operand.Imm(scale)) { Source = update.Source });
                value = scaled;
            }
            instructions.Add(update with { Right = Operand.Reg(value) });
            block.Terminator = new JumpTerm(join) { Source = branch.Source };
            changed = true;
        }

        if (changed)
            function.RemoveUnreachableBlocks();
    }
}

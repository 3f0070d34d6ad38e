using XdpCompiler.Core.Backend;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// The ISA's arithmetic is two-address ("dst op= src"): "v = a + b" costs a copy of a into v unless v can take a's
/// register, which it cannot while a is still needed. For a commutative operation whose left operand lives on and
/// whose right operand dies here, exchanging the operands lets v take the dying one's register and saves the copy
/// ("mix = sb + b" where sb is read again later: "w8 = b; w8 += sb" becomes "w8 += w3").
/// </summary>
internal static class OperandCommutation
{
    public static void Run(IrFunction function)
    {
        var liveOut = Liveness.Compute(function);
        foreach (var block in function.Blocks)
        {
            var live = new HashSet<int>(liveOut[block]);
            live.UnionWith(Liveness.Uses(block.Terminator));
            for (var i = block.Instructions.Count - 1; i >= 0; i--)
            {
                var instruction = block.Instructions[i];
                if (instruction is BinaryInstr { Op: BinaryOp.Add or BinaryOp.Mul or BinaryOp.And or BinaryOp.Or or BinaryOp.Xor, Right.IsImmediate: false } b &&
                    b.Right.Register != b.Left && b.Dst != b.Left && !Ir.IsPhysical(b.Right.Register) &&
                    (b.Dst == b.Right.Register || live.Contains(b.Left) && !live.Contains(b.Right.Register)))
                {
                    instruction = b with { Left = b.Right.Register, Right = Operand.Reg(b.Left) };
                    block.Instructions[i] = instruction;
                }

                live.ExceptWith(Liveness.Defs(instruction));
                live.UnionWith(Liveness.Uses(instruction));
            }
        }
    }
}

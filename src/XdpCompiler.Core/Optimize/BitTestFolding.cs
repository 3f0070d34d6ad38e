using XdpCompiler.Core.Backend;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// Branches that only look at some bits become the ISA's bit test (<c>jset</c>), which needs neither a scratch copy
/// nor the masking instruction: "if ((x &amp; m) == 0)" tests x against m, "if ((sbyte)x &lt; 0)" tests bit 7 of x, and a
/// test of "x &gt;&gt; k" tests x against the mask shifted back. Each step applies only when the intermediate value is read
/// by that branch alone, so the instruction computing it goes away, and its source has a single definition, so it
/// still holds the same value at the branch.
/// </summary>
internal static class BitTestFolding
{
    public static void Run(IrFunction function)
    {
        var definitions = new Dictionary<int, int>();
        var definedBy = new Dictionary<int, IrInstr>();
        var uses = new Dictionary<int, int>();
        foreach (var block in function.Blocks)
        {
            foreach (var instruction in block.Instructions)
            {
                foreach (var def in Liveness.Defs(instruction))
                {
                    definitions[def] = definitions.TryGetValue(def, out var n) ? n + 1 : 1;
                    definedBy[def] = instruction;
                }

                foreach (var use in Liveness.Uses(instruction))
                    uses[use] = uses.TryGetValue(use, out var n) ? n + 1 : 1;
            }

            foreach (var use in Liveness.Uses(block.Terminator))
                uses[use] = uses.TryGetValue(use, out var n) ? n + 1 : 1;
        }

        bool Single(int register) => !Ir.IsPhysical(register) && definitions.TryGetValue(register, out var n) && n == 1;
        bool OnlyHere(int register) => Single(register) && uses.TryGetValue(register, out var n) && n == 1;

        foreach (var block in function.Blocks)
        {
            // A register still holds at the branch what it held at "instruction" when it has one definition, or when
            // the instruction is in this block and nothing after it writes the register.
            bool Unchanged(int register, IrInstr instruction)
            {
                if (Single(register))
                    return true;
                if (Ir.IsPhysical(register))
                    return false;
                var index = block.Instructions.IndexOf(instruction);
                return index >= 0 && !block.Instructions.Skip(index + 1).Any(i => Liveness.Defs(i).Contains(register));
            }

            if (block.Terminator is not BranchTerm { Right.IsImmediate: true } branch || !OnlyHere(branch.Left))
                continue;
            var source = definedBy[branch.Left];
            BranchTerm? test = null;
            if (branch is { Condition: Condition.Eq or Condition.Ne, Right.Immediate: 0 } &&
                source is BinaryInstr { Op: BinaryOp.And, Right.IsImmediate: true } and && Unchanged(and.Left, and))
            {
                // A 32-bit mask or a 32-bit compare sees only the low halves; the ISA's jset32 does the same.
                var width = and.Width == Width.W32 || branch.Width == Width.W32 ? Width.W32 : Width.W64;
                test = branch with
                {
                    Condition = branch.Condition == Condition.Ne ? Condition.Set : Condition.Clear,
                    Width = width,
                    Left = and.Left,
                    Right = Operand.Imm(and.Right.Immediate),
                };
            }
            else if (branch is { Condition: Condition.LtSigned or Condition.GeSigned, Right.Immediate: 0 } &&
                source is ExtendInstr { Signed: true, FromBits: <= 32 } extend && Unchanged(extend.Src, extend) &&
                (branch.Width == Width.W32 || extend.To == Width.W64))
            {
                // The sign of a sign-extended value is bit FromBits-1 of what was extended.
                test = branch with
                {
                    Condition = branch.Condition == Condition.LtSigned ? Condition.Set : Condition.Clear,
                    Width = Width.W32,
                    Left = extend.Src,
                    Right = Operand.Imm(1L << (extend.FromBits - 1)),
                };
            }

            if (test is null)
                continue;
            var mask = test.Width == Width.W32 ? (ulong)(uint)unchecked((int)test.Right.Immediate) : (ulong)unchecked((int)test.Right.Immediate);
            if (OnlyHere(test.Left) && definedBy[test.Left] is BinaryInstr { Op: BinaryOp.ShrUnsigned, Right.IsImmediate: true } shift &&
                Unchanged(shift.Left, shift) && (shift.Right.Immediate & (shift.Width == Width.W32 ? 31 : 63)) is var k &&
                k < 32 && (mask << (int)k) is var moved && moved < 0x8000_0000 && moved >> (int)k == mask)
            {
                // Bit i of x >> k is bit i+k of x; a positive 32-bit mask means the same to either width of jset.
                test = test with { Width = shift.Width, Left = shift.Left, Right = Operand.Imm((long)moved) };
            }

            block.Terminator = test;
        }
    }
}

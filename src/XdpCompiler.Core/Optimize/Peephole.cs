using XdpCompiler.Core.Backend;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// Small rewrites the frontend's straightforward lowering leaves room for:
/// a byte swap or store that reads only the low bits an extension left alone reads the unextended value instead;
/// zero-extending a value a load already zero-extended is a copy; a branch on constants becomes a jump.
/// </summary>
internal static class Peephole
{
    public static void Run(IrFunction function)
    {
        var definitions = new Dictionary<int, int>();
        var definedBy = new Dictionary<int, IrInstr>();
        foreach (var instruction in function.Blocks.SelectMany(b => b.Instructions))
        {
            foreach (var def in Liveness.Defs(instruction))
            {
                definitions[def] = definitions.TryGetValue(def, out var n) ? n + 1 : 1;
                definedBy[def] = instruction;
            }
        }

        bool Single(int register) => !Ir.IsPhysical(register) && definitions.TryGetValue(register, out var n) && n == 1;
        ValueFacts? facts = null;

        // The register holding the same low bits as `register`, skipping extensions that only change higher bits.
        int LowBitsSource(int register, int bits)
        {
            for (var guard = 0; guard < 8 && Single(register) && definedBy[register] is ExtendInstr e && e.FromBits >= bits && Single(e.Src); guard++)
                register = e.Src;
            return register;
        }

        foreach (var block in function.Blocks)
        {
            for (var i = 0; i < block.Instructions.Count; i++)
            {
                block.Instructions[i] = block.Instructions[i] switch
                {
                    SwapInstr swap when Unswapped(swap) is { } plain => plain,
                    SwapInstr swap => swap with { Src = LowBitsSource(swap.Src, swap.Bits) },
                    // A 64-bit value shifted right by 32 or more has nothing in its upper half to truncate away.
                    ExtendInstr { Signed: false, FromBits: 32, To: Width.W32 } truncate when Single(truncate.Src) &&
                        definedBy[truncate.Src] is BinaryInstr { Op: BinaryOp.ShrUnsigned, Width: Width.W64, Right: { IsImmediate: true, Immediate: >= 32 } } =>
                        new MovInstr(truncate.Dst, truncate.Src, Width.W64) { Source = truncate.Source },
                    // Loads zero-extend: a zero-extension of a loaded value that is no wider changes nothing.
                    ExtendInstr { Signed: false } extend when Single(extend.Src) && definedBy[extend.Src] is LoadInstr load && load.Size.Bits() <= extend.FromBits =>
                        new MovInstr(extend.Dst, extend.Src, Width.W64) { Source = extend.Source },
                    // An extension of an extension: "(long)(sbyte)x" sign-extends from 8 bits once, not twice.
                    ExtendInstr outer when Single(outer.Src) && definedBy[outer.Src] is ExtendInstr inner && Single(inner.Src) &&
                        inner.FromBits <= outer.FromBits && outer.FromBits <= (int)inner.To && (inner.Signed == outer.Signed || !inner.Signed && inner.FromBits < outer.FromBits) =>
                        outer with { Src = inner.Src, FromBits = inner.FromBits, Signed = inner.Signed },
                    // "x & 0xFFFFFFFF" needs the mask in a register; a 32-bit move clears the upper half by itself.
                    BinaryInstr { Op: BinaryOp.And, Width: Width.W64, Right.IsImmediate: false } masked when Constant(masked.Right.Register) == 0xFFFF_FFFF =>
                        new ExtendInstr(masked.Dst, masked.Left, 32, Signed: false, Width.W64) { Source = masked.Source },
                    StoreInstr { Value.IsImmediate: false } store => store with { Value = Operand.Reg(LowBitsSource(store.Value.Register, store.Size.Bits())) },
                    var other => other,
                };
            }

            // "x += a; x += b" → "x += a + b".
            for (var i = block.Instructions.Count - 1; i > 0; i--)
            {
                if (block.Instructions[i] is BinaryInstr { Op: BinaryOp.Add, Right.IsImmediate: true } second &&
                    block.Instructions[i - 1] is BinaryInstr { Op: BinaryOp.Add, Right.IsImmediate: true } first &&
                    first.Width == second.Width && first.Dst == first.Left && second.Dst == second.Left && second.Left == first.Dst &&
                    first.Right.Immediate + second.Right.Immediate is var sum && sum is >= int.MinValue and <= int.MaxValue)
                {
                    block.Instructions[i - 1] = first with { Right = Operand.Imm(sum) };
                    block.Instructions.RemoveAt(i);
                }
            }

            if (block.Terminator is BranchTerm branch && Constant(branch.Left) is { } left &&
                (branch.Right.IsImmediate ? branch.Right.Immediate : Constant(branch.Right.Register)) is { } right)
            {
                block.Terminator = new JumpTerm(branch.Condition.Evaluate(branch.Width, left, right) ? branch.True : branch.False) { Source = branch.Source };
            }
        }

        function.RemoveUnreachableBlocks();

        // swap(swap(x) op c) is x op swap(c) for a bitwise op: a byte swap moves whole bytes, and and/or/xor with a
        // constant work on each bit where it is. "(ushort)(ntohs(f) ^ 0x8000)" stored back in network order is
        // "f ^ 0x80", with neither swap. The outer swap keeps only its low bits, so x must have nothing above them
        // (a 16-bit swap), or the op must be 32-bit where the swap is (a 32-bit one); 64-bit swaps are left alone
        // (the swapped constant rarely fits an immediate).
        IrInstr? Unswapped(SwapInstr outer)
        {
            var source = LowBitsSource(outer.Src, outer.Bits);
            if (outer.Bits == 64 || !Single(source) || definedBy[source] is not BinaryInstr
                {
                    Op: BinaryOp.And or BinaryOp.Or or BinaryOp.Xor, Right.IsImmediate: true,
                } op || !Single(op.Left) || definedBy[op.Left] is not SwapInstr inner || inner.Bits != outer.Bits || !Single(inner.Src))
            {
                return null;
            }
            // Built on first need, part-way through the rewrites: every rewrite here keeps each register's value, so
            // the ranges it derives hold for the function before and after.
            if (outer.Bits == 16 && !(facts ??= new ValueFacts(function)).Range(inner.Src).Within(0, 0xFFFF))
                return null;
            var constant = ValueFacts.Swap(Bits.Immediate(op.Width, op.Right.Immediate), outer.Bits);
            return new BinaryInstr(op.Op, Width.W32, outer.Dst, inner.Src, Operand.Imm(unchecked((int)(uint)constant))) { Source = outer.Source };
        }

        long? Constant(int register) => Single(register) && definedBy[register] is ConstInstr c ? c.Value : null;
    }
}

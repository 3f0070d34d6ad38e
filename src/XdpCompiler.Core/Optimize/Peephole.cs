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
                    SwapInstr swap => swap with { Src = LowBitsSource(swap.Src, swap.Bits) },
                    // Loads zero-extend: a zero-extension of a loaded value that is no wider changes nothing.
                    ExtendInstr { Signed: false } extend when Single(extend.Src) && definedBy[extend.Src] is LoadInstr load && load.Size.Bits() <= extend.FromBits =>
                        new MovInstr(extend.Dst, extend.Src, Width.W64) { Source = extend.Source },
                    StoreInstr { Value.IsImmediate: false } store => store with { Value = Operand.Reg(LowBitsSource(store.Value.Register, store.Size.Bits())) },
                    var other => other,
                };
            }

            if (block.Terminator is BranchTerm branch && Constant(branch.Left) is { } left &&
                (branch.Right.IsImmediate ? branch.Right.Immediate : Constant(branch.Right.Register)) is { } right)
            {
                block.Terminator = new JumpTerm(branch.Condition.Evaluate(branch.Width, left, right) ? branch.True : branch.False) { Source = branch.Source };
            }
        }

        function.RemoveUnreachableBlocks();

        long? Constant(int register) => Single(register) && definedBy[register] is ConstInstr c ? c.Value : null;
    }
}

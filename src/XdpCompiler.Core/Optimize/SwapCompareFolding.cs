using XdpCompiler.Core.Backend;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// "if (eth->EtherType == EtherType.IPv4)" loads the field, byte-swaps it and compares with 0x0800. When a swapped
/// value is only ever compared for (in)equality with constants, compare the raw field with the swapped constants
/// (0x0008) and drop the swap.
/// </summary>
internal static class SwapCompareFolding
{
    public static void Run(IrFunction function)
    {
        var swaps = new Dictionary<int, SwapInstr>();
        var definitions = new Dictionary<int, int>();
        var otherUses = new HashSet<int>();
        foreach (var instruction in function.Blocks.SelectMany(b => b.Instructions))
        {
            foreach (var def in Liveness.Defs(instruction))
                definitions[def] = definitions.TryGetValue(def, out var n) ? n + 1 : 1;
            if (instruction is SwapInstr swap)
                swaps[swap.Dst] = swap;
            otherUses.UnionWith(Liveness.Uses(instruction));
        }

        foreach (var block in function.Blocks)
        {
            if (block.Terminator is not BranchTerm { Condition: Condition.Eq or Condition.Ne, Right.IsImmediate: true })
                otherUses.UnionWith(Liveness.Uses(block.Terminator));
        }

        foreach (var block in function.Blocks)
        {
            if (block.Terminator is BranchTerm { Condition: Condition.Eq or Condition.Ne, Right.IsImmediate: true } branch &&
                swaps.TryGetValue(branch.Left, out var swap) && !otherUses.Contains(swap.Dst) &&
                definitions.TryGetValue(swap.Dst, out var n) && n == 1 && definitions.TryGetValue(swap.Src, out var m) && m == 1 &&
                !Ir.IsPhysical(swap.Src) && FitsWidth(branch.Right.Immediate, swap.Bits))
            {
                // The source must hold only the swapped bits (a zero-extending load of that width does).
                if (!IsLoadOfWidth(function, swap.Src, swap.Bits))
                    continue;
                block.Terminator = branch with { Left = swap.Src, Right = Operand.Imm(Swap(branch.Right.Immediate, swap.Bits)) };
            }
        }
    }

    /// <summary>Whether a load of that width defines the register, directly or through copies (each register defined once).</summary>
    private static bool IsLoadOfWidth(IrFunction function, int register, int bits)
    {
        var single = function.Blocks.SelectMany(b => b.Instructions).SelectMany(i => Liveness.Defs(i).Select(d => (Def: d, Instruction: i)))
            .GroupBy(d => d.Def).Where(g => g.Count() == 1).ToDictionary(g => g.Key, g => g.First().Instruction);
        for (var step = 0; step < 8 && !Ir.IsPhysical(register) && single.TryGetValue(register, out var definition); step++)
        {
            switch (definition)
            {
                case LoadInstr load:
                    return load.Size.Bits() == bits;
                case MovInstr { Width: Width.W64 } copy:
                    register = copy.Src;
                    continue;
                default:
                    return false;
            }
        }

        return false;
    }

    private static bool FitsWidth(long value, int bits) => bits == 64 || (ulong)value >> bits == 0;

    private static long Swap(long value, int bits)
    {
        ulong result = 0;
        for (var i = 0; i < bits / 8; i++)
            result |= (((ulong)value >> (8 * i)) & 0xFF) << (bits - 8 - 8 * i);
        return (long)result;
    }
}

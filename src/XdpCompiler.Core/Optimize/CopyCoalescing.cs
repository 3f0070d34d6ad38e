using XdpCompiler.Core.Backend;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// Removes "dst = tmp" where tmp is computed just before, used nowhere else, and dst is untouched in between: the
/// computation writes dst directly. This is most assignments to locals ("var end = ctx.DataEnd"), and it leaves the
/// register allocator fewer moves to guess at.
/// </summary>
internal static class CopyCoalescing
{
    public static void Run(IrFunction function)
    {
        var defs = new Dictionary<int, int>();
        var uses = new Dictionary<int, int>();
        foreach (var block in function.Blocks)
        {
            foreach (var instruction in block.Instructions)
            {
                foreach (var d in Liveness.Defs(instruction))
                    defs[d] = Count(defs, d) + 1;
                foreach (var u in Liveness.Uses(instruction))
                    uses[u] = Count(uses, u) + 1;
            }

            foreach (var u in Liveness.Uses(block.Terminator))
                uses[u] = Count(uses, u) + 1;
        }

        foreach (var block in function.Blocks)
        {
            var instructions = block.Instructions;
            for (var j = 0; j < instructions.Count; j++)
            {
                if (instructions[j] is not MovInstr { Width: Width.W64 } copy || Ir.IsPhysical(copy.Dst) || Ir.IsPhysical(copy.Src) ||
                    copy.Dst == copy.Src || Count(defs, copy.Src) != 1 || Count(uses, copy.Src) != 1)
                {
                    continue;
                }

                var i = j - 1;
                while (i >= 0 && !Liveness.Defs(instructions[i]).Contains(copy.Src))
                    i--;
                if (i < 0 || Touches(instructions, i + 1, j, copy.Dst))
                    continue;
                // "t = y - x; x = t" must not become "x = y - x": two-address code copies y into x before reading x.
                if (instructions[i] is BinaryInstr { Right.IsImmediate: false } binary && binary.Right.Register == copy.Dst && binary.Left != copy.Dst)
                    continue;

                instructions[i] = Liveness.Rename(instructions[i], copy.Src, copy.Dst);
                instructions.RemoveAt(j);
                defs[copy.Dst] = Count(defs, copy.Dst);
                j--;
            }
        }
    }

    private static bool Touches(List<IrInstr> instructions, int from, int to, int register)
    {
        for (var k = from; k < to; k++)
        {
            if (Liveness.Uses(instructions[k]).Contains(register) || Liveness.Defs(instructions[k]).Contains(register))
                return true;
        }

        return false;
    }

    private static int Count(Dictionary<int, int> counts, int register) => counts.TryGetValue(register, out var n) ? n : 0;
}

using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Backend;

/// <summary>
/// After register allocation two values that are the same constant can share a register one after the other
/// (<c>(uint)x == uint.MaxValue</c>, then <c>x &gt;= uint.MaxValue</c>: both compare with 0xFFFFFFFF in r1), and the
/// second <c>r1 = K</c> then sets what r1 already holds. Such a constant is dropped. What a register holds is followed
/// through each block from its only predecessor, when that comes earlier in the layout: constants and copies of them
/// are known, anything else that writes the register (a load, a call's clobbers, arithmetic) forgets it. The verifier
/// sees the same known scalar either way.
/// </summary>
internal static class RedundantConstants
{
    public static void Run(IrFunction function, Dictionary<int, int> colours)
    {
        int P(int register) => Ir.IsPhysical(register) ? register : colours[register];
        var predecessors = function.Predecessors();
        var atEnd = new Dictionary<IrBlock, Dictionary<int, long>>();
        foreach (var block in function.Blocks)
        {
            var known = predecessors[block].Count == 1 && atEnd.TryGetValue(predecessors[block][0], out var before)
                ? new Dictionary<int, long>(before)
                : new Dictionary<int, long>();
            var kept = new List<IrInstr>(block.Instructions.Count);
            foreach (var instruction in block.Instructions)
            {
                switch (instruction)
                {
                    case ConstInstr constant when known.TryGetValue(P(constant.Dst), out var value) && value == constant.Value:
                        continue;
                    case ConstInstr constant:
                        known[P(constant.Dst)] = constant.Value;
                        break;
                    case MovInstr copy when known.TryGetValue(P(copy.Src), out var value):
                        known[P(copy.Dst)] = copy.Width == Width.W64 ? value : (long)(uint)value;
                        break;
                    default:
                        foreach (var def in Liveness.Defs(instruction))
                            known.Remove(P(def));
                        // A fetching atomic writes the old value where its operand is (the emitter's choice), and
                        // compare-exchange into r0, whatever the instruction names.
                        if (instruction is AtomicInstr atomic)
                        {
                            known.Remove(Reg.R0);
                            if (atomic.FetchDst is not null)
                                known.Remove(P(atomic.Value));
                        }
                        break;
                }

                kept.Add(instruction);
            }

            block.Instructions.Clear();
            block.Instructions.AddRange(kept);
            atEnd[block] = known;
        }
    }
}

using XdpCompiler.Core.Backend;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// Folds "p = base + c" into the offsets of the loads, stores and adds that use p, as clang does with
/// <c>r1 = *(u8 *)(r2 + 23)</c>. Only registers assigned exactly once qualify: C#'s definite assignment then makes the
/// single definition dominate every use, and base cannot change in between. The verifier sees the same packet pointer
/// plus a constant, so bounds checks still cover the access.
/// </summary>
internal static class AddressFolding
{
    public static void Run(IrFunction function)
    {
        var definitions = new Dictionary<int, int>();
        foreach (var instruction in function.Blocks.SelectMany(b => b.Instructions))
        {
            foreach (var def in Liveness.Defs(instruction))
                definitions[def] = definitions.TryGetValue(def, out var n) ? n + 1 : 1;
        }

        bool SingleVirtual(int register) => !Ir.IsPhysical(register) && definitions.TryGetValue(register, out var n) && n == 1;

        var offsets = new Dictionary<int, (int Base, long Offset)>();
        foreach (var instruction in function.Blocks.SelectMany(b => b.Instructions))
        {
            // R10 never changes, so a stack address is as good a base as a single-definition register.
            if (instruction is BinaryInstr { Op: BinaryOp.Add, Width: Width.W64, Right.IsImmediate: true } add &&
                SingleVirtual(add.Dst) && (SingleVirtual(add.Left) || add.Left == Reg.R10))
            {
                offsets[add.Dst] = (add.Left, add.Right.Immediate);
            }
            else if (instruction is MovInstr { Width: Width.W64 } copy && SingleVirtual(copy.Dst) && SingleVirtual(copy.Src))
            {
                // A local initialised from another pointer ("var ip = (IPv4Header*)(eth + 1)") is that pointer.
                offsets[copy.Dst] = (copy.Src, 0);
            }
        }

        (int Base, long Offset) Resolve(int register)
        {
            long total = 0;
            for (var guard = 0; guard < 64 && offsets.TryGetValue(register, out var step); guard++)
            {
                total += step.Offset;
                register = step.Base;
            }

            return (register, total);
        }

        foreach (var block in function.Blocks)
        {
            for (var i = 0; i < block.Instructions.Count; i++)
            {
                block.Instructions[i] = block.Instructions[i] switch
                {
                    BinaryInstr { Op: BinaryOp.Add, Width: Width.W64, Right.IsImmediate: true } add when offsets.ContainsKey(add.Dst) =>
                        Fold(add, add.Left, Resolve(add.Left), add.Right.Immediate, int.MinValue, int.MaxValue,
                            (root, total) => add with { Left = root, Right = Operand.Imm(total) }),
                    LoadInstr load => Fold(load, load.Base, Resolve(load.Base), load.Offset, short.MinValue, short.MaxValue,
                        (root, total) => load with { Base = root, Offset = (short)total }),
                    StoreInstr store => Fold(store, store.Base, Resolve(store.Base), store.Offset, short.MinValue, short.MaxValue,
                        (root, total) => store with { Base = root, Offset = (short)total }),
                    AtomicInstr atomic => Fold(atomic, atomic.Base, Resolve(atomic.Base), atomic.Offset, short.MinValue, short.MaxValue,
                        (root, total) => atomic with { Base = root, Offset = (short)total }),
                    var other => other,
                };
            }
        }
    }

    private static IrInstr Fold<T>(T instruction, int originalBase, (int Base, long Offset) resolved, long ownOffset, long min, long max,
        Func<int, long, T> rewrite)
        where T : IrInstr
    {
        var total = resolved.Offset + ownOffset;
        if (resolved.Base == originalBase || total < min || total > max)
            return instruction;
        return rewrite(resolved.Base, total);
    }
}

using XdpCompiler.Core.Backend;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// A helper call keeps only r6-r9 (and the stack): every value computed before a call and read after it needs one of
/// those four registers or a spill. C# computes in source order, so "ulong z = v * K; … Map.Lookup(…); … if (z == …)"
/// carries z across the lookup. Moving such register-only computations to just after the call carries their inputs
/// across instead (v, which the code needs anyway), as clang does. It is done for the whole group of movable
/// computations between two calls at once, and only when it leaves fewer values live across the call.
/// </summary>
internal static class CallSinking
{
    public static void Run(IrFunction function)
    {
        if (!function.Blocks.Any(b => b.Instructions.Any(i => i is CallInstr)))
            return;
        var liveOut = Liveness.Compute(function);
        foreach (var block in function.Blocks)
        {
            var start = 0;
            for (var call = 0; call < block.Instructions.Count; call++)
            {
                if (block.Instructions[call] is not CallInstr)
                    continue;
                call = Sink(block, start, call, liveOut[block]);
                start = call + 1;
            }
        }
    }

    /// <summary>Sinks from <c>[start, call)</c> past the call at <paramref name="call"/>; returns the call's new index.</summary>
    private static int Sink(IrBlock block, int start, int call, HashSet<int> liveOut)
    {
        var code = block.Instructions;
        var chosen = Choose(code, start, call);
        if (chosen.Count == 0)
            return call;

        var moved = chosen.Select(i => code[i]).ToList();
        var stay = new HashSet<int>(chosen);
        var trial = code.Where((_, i) => !stay.Contains(i)).ToList();
        var newCall = call - chosen.Count;
        // Behind the copy of the result out of r0, so r0 is free again where the moved code runs, unless that copy
        // writes a register the moved code reads or writes (the IR is not SSA: a local may take the result).
        var touched = new HashSet<int>(moved.SelectMany(i => Liveness.Uses(i).Concat(Liveness.Defs(i))));
        var at = newCall + 1;
        while (at < trial.Count && trial[at] is MovInstr { Src: Reg.R0 } copy && !touched.Contains(copy.Dst))
            at++;
        trial.InsertRange(at, moved);
        if (LiveAcross(trial, newCall, block.Terminator, liveOut) >= LiveAcross(code, call, block.Terminator, liveOut))
            return call;

        code.Clear();
        code.AddRange(trial);
        return newCall;
    }

    /// <summary>How many virtual registers are live just after the call at <paramref name="call"/>: what it carries across.</summary>
    private static int LiveAcross(List<IrInstr> code, int call, Terminator? terminator, HashSet<int> liveOut) =>
        Liveness.LiveBefore(code, call + 1, terminator, liveOut).Count(r => !Ir.IsPhysical(r));

    /// <summary>
    /// The register-only computations in <c>[start, call)</c> that can run after the call instead: nothing else before
    /// the call reads or writes their result or writes their inputs, and their inputs are virtual registers or r10
    /// (the call overwrites r0-r5). Indices ascending.
    /// </summary>
    private static List<int> Choose(List<IrInstr> code, int start, int call)
    {
        var chosen = new SortedSet<int>();
        // From the call backwards, so a computation whose only reader is a later moved one can move too.
        for (var i = call - 1; i >= start; i--)
        {
            // A sign extension right behind the load of its value stays: on cpu v4 the two are one load.
            if (!Movable(code[i]) || code[i] is ExtendInstr { Signed: true } extend && i > start && code[i - 1] is LoadInstr load && load.Dst == extend.Src)
                continue;
            var result = Liveness.Defs(code[i])[0];
            var inputs = Liveness.Uses(code[i]);
            if (Ir.IsPhysical(result) || inputs.Any(Ir.IsPhysical))
                continue;
            var free = true;
            for (var j = i + 1; j < call && free; j++)
            {
                if (chosen.Contains(j))
                    continue;
                var defs = Liveness.Defs(code[j]);
                free = !defs.Contains(result) && !Liveness.Uses(code[j]).Contains(result) && !inputs.Any(defs.Contains);
            }

            if (free)
                chosen.Add(i);
        }

        return chosen.ToList();
    }

    private static bool Movable(IrInstr instruction) =>
        instruction is ConstInstr or MovInstr or BinaryInstr or NegInstr or ExtendInstr or SwapInstr;
}

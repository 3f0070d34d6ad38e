using XdpCompiler.Core.Backend;
using XdpCompiler.Core.Diagnostics;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// Two branches in a row on values that are 0 or 1 (materialized compares, C# bools) become one: "if a goto B else C;
/// B: if b goto D else C" reaches D exactly when a and b are both set, so it is "t = a &amp; b; if t goto D else C", and
/// with one of the two tests negated it needs no instruction at all: a set and b clear is a &gt; b. A branch is a
/// micro-op even when it is not taken and a CPU runs few of them per cycle, so a chain of branches on bools
/// (<c>x &amp;&amp; y &amp;&amp; !z</c> on bools already computed) costs more than the bitwise form clang makes of it; the
/// kernel verifier also has a path fewer to walk per merge. B must be entered from A alone; at most one cheap
/// instruction of B's moves up into A, when what it writes is dead in C (the other way it now runs on), as
/// <c>ReturnHoisting</c>'s "r0 = K" is.
/// </summary>
internal static class BooleanBranchMerging
{
    public static void Run(IrFunction function)
    {
        // Each merge changes liveness and may make a new pair (the merged test is a bool too): start over after one.
        while (RunOnce(function))
            function.RemoveUnreachableBlocks();
    }

    private static bool RunOnce(IrFunction function)
    {
        ValueFacts? facts = null;
        Dictionary<IrBlock, HashSet<int>>? liveOut = null;
        Dictionary<IrBlock, HashSet<int>>? defined = null;
        foreach (var (first, outer, second, inner, shared, other) in BranchPair.In(function))
        {
            if (second.Instructions.Count > 1 || Test(outer) is not { } a || Test(inner) is not { } b)
                continue;
            facts ??= new ValueFacts(function);
            if (!IsBoolean(a.Register, facts) || !IsBoolean(b.Register, facts))
                continue;

            var moved = second.Instructions.Count == 1 ? second.Instructions[0] : null;
            if (moved is not null)
            {
                liveOut ??= Liveness.Compute(function);
                if (!IsCheap(moved) || Liveness.Defs(moved).Any(d => d == a.Register || LiveIn(shared, liveOut).Contains(d)))
                    continue;
            }

            // b (and what the moved instruction reads) is now read on the way from A to C as well: it must have a
            // value on every way into A, or the verifier refuses the read ("!read_ok").
            defined ??= DefinedAtEnd(function);
            var readEarly = new List<int>();
            if (moved is not null)
                readEarly.AddRange(Liveness.Uses(moved));
            if (moved is null || !Liveness.Defs(moved).Contains(b.Register))
                readEarly.Add(b.Register);
            if (!defined.TryGetValue(first, out var set) || readEarly.Any(r => !Ir.IsPhysical(r) && !set.Contains(r)))
                continue;

            // D is reached when A goes to B and B does not go to the shared block.
            var whenA = second == outer.True ? a.WhenSet : !a.WhenSet;
            var whenB = inner.True == shared ? !b.WhenSet : b.WhenSet;
            if (whenA == whenB)
            {
                // The bitwise form costs a copy as well when both bools live on (eBPF's ALU is two-address):
                // two instructions for a branch, which is no gain.
                liveOut ??= Liveness.Compute(function);
                var after = LiveIn(shared, liveOut);
                after.UnionWith(LiveIn(other, liveOut));
                if (after.Contains(a.Register) && after.Contains(b.Register))
                    continue;
            }

            var width = outer.Width == Width.W32 && inner.Width == Width.W32 ? Width.W32 : Width.W64;
            if (moved is not null)
                first.Instructions.Add(moved);
            first.Terminator = Merge(function, first, a.Register, whenA, b.Register, whenB, width, other, shared, outer.Source);
            return true;
        }

        return false;
    }

    /// <summary>The branch "goto <paramref name="taken"/> when a is <paramref name="whenA"/> and b is <paramref name="whenB"/>".</summary>
    private static BranchTerm Merge(IrFunction function, IrBlock block, int a, bool whenA, int b, bool whenB, Width width,
        IrBlock taken, IrBlock otherwise, SourceSpan? source)
    {
        if (whenA != whenB)
        {
            // Set and clear: the set one is the larger.
            var (larger, smaller) = whenA ? (a, b) : (b, a);
            return new BranchTerm(Condition.GtUnsigned, width, larger, Operand.Reg(smaller), taken, otherwise) { Source = source };
        }

        // Both set: a & b is 1; both clear: a | b is 0.
        var combined = function.NewRegister();
        block.Instructions.Add(new BinaryInstr(whenA ? BinaryOp.And : BinaryOp.Or, width, combined, a, Operand.Reg(b)) { Source = source });
        return new BranchTerm(whenA ? Condition.Ne : Condition.Eq, width, combined, Operand.Imm(0), taken, otherwise) { Source = source };
    }

    /// <summary>The register a branch tests against 0 or 1, and whether it goes to its true target when that is 1.</summary>
    private static (int Register, bool WhenSet)? Test(BranchTerm branch)
    {
        if (!branch.Right.IsImmediate)
            return null;
        var k = branch.Right.Immediate;
        bool? whenSet = (branch.Condition, k) switch
        {
            (Condition.Ne, 0) or (Condition.Eq, 1) or (Condition.GtUnsigned, 0) or (Condition.GeUnsigned, 1) or (Condition.GtSigned, 0) or (Condition.GeSigned, 1) => true,
            (Condition.Eq, 0) or (Condition.Ne, 1) or (Condition.LeUnsigned, 0) or (Condition.LtUnsigned, 1) or (Condition.LeSigned, 0) or (Condition.LtSigned, 1) => false,
            (Condition.Set, _) when (k & 1) != 0 => true,
            (Condition.Clear, _) when (k & 1) != 0 => false,
            _ => null,
        };
        return whenSet is { } set ? (branch.Left, set) : null;
    }

    /// <summary>The registers written on every way from the entry to the end of each block (the entry's own writes first).</summary>
    private static Dictionary<IrBlock, HashSet<int>> DefinedAtEnd(IrFunction function)
    {
        var predecessors = function.Predecessors();
        var atEnd = new Dictionary<IrBlock, HashSet<int>>();
        bool changed;
        do
        {
            changed = false;
            foreach (var block in function.Blocks)
            {
                // A predecessor not reached yet constrains nothing.
                var set = block == function.Blocks[0]
                    ? new HashSet<int>()
                    : DataFlow.Intersect(predecessors[block].Where(atEnd.ContainsKey).Select(p => atEnd[p]));
                if (set is null)
                    continue;
                set.UnionWith(block.Instructions.SelectMany(Liveness.Defs));
                if (!atEnd.TryGetValue(block, out var previous) || !previous.SetEquals(set))
                {
                    atEnd[block] = set;
                    changed = true;
                }
            }
        }
        while (changed);

        return atEnd;
    }

    private static HashSet<int> LiveIn(IrBlock block, Dictionary<IrBlock, HashSet<int>> liveOut) =>
        Liveness.LiveBefore(block.Instructions, 0, block.Terminator, liveOut[block]);

    private static bool IsBoolean(int register, ValueFacts facts) => facts.Range(register).Within(0, 1);

    /// <summary>An instruction that may run on a path it did not run on before: no memory, no call, no fault.</summary>
    private static bool IsCheap(IrInstr instruction) => instruction switch
    {
        ConstInstr or MovInstr or NegInstr or ExtendInstr => true,
        BinaryInstr binary => binary.Op is not (BinaryOp.DivUnsigned or BinaryOp.ModUnsigned or BinaryOp.DivSigned or BinaryOp.ModSigned),
        _ => false,
    };
}

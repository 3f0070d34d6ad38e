using Microsoft.CodeAnalysis;
using XdpCompiler.Core.Backend;
using XdpCompiler.Core.Diagnostics;
using XdpCompiler.Core.IR;
using XdpCompiler.Core.Optimize;

namespace XdpCompiler.Core.Frontend;

// Unsigned division by a register: C# throws on a zero divisor where eBPF yields 0 (or keeps the dividend for a
// remainder), so such a division is only accepted where the divisor cannot be zero. That is proved on the lowered IR,
// before any optimization could delete an unused division: from the values the divisor can hold (a byte plus one, a
// value or-ed with 1), or from a test on the only way in ("if (d != 0)", or "if (d == 0) return" before it) with no
// write to the divisor in between.
internal sealed partial class MethodLowering
{
    private const int GuardSearchDepth = 16;

    private readonly List<(IrInstr Division, SyntaxNode Divisor)> _divisions = new();

    private void RequireNonZeroDivisor(SyntaxNode divisor) => _divisions.Add((_current.Instructions[_current.Instructions.Count - 1], divisor));

    private void CheckDivisors()
    {
        if (_divisions.Count == 0)
            return;
        var facts = new ValueFacts(_function);
        var predecessors = _function.Blocks.ToDictionary(b => b, _ => new List<IrBlock>());
        foreach (var block in _function.Blocks)
        {
            foreach (var successor in block.Successors.Distinct())
                predecessors[successor].Add(block);
        }

        foreach (var (division, divisor) in _divisions)
        {
            var block = _function.Blocks.FirstOrDefault(b => b.Instructions.Contains(division));
            if (block is null || division is not BinaryInstr { Right.IsImmediate: false } b)
                continue; // unreachable code: it never divides
            if (!NonZero(facts, b) && !Guarded(b, block, predecessors))
            {
                Report(DiagnosticCatalog.UnsupportedConstruct, divisor, "Division by a value that may be zero",
                    "eBPF division by zero yields 0 where C# throws; test the divisor first (if (d != 0) …, or return when it is 0), or divide by a non-zero constant");
            }
        }
    }

    private static bool NonZero(ValueFacts facts, BinaryInstr division)
    {
        var register = division.Right.Register;
        var range = facts.Range(register);
        var view = division.Width == Width.W32 ? range.View32().ViewFor(Width.W32, signed: false) : range.ViewFor(Width.W64, signed: false);
        if (view is { } v && v.Lo > 0)
            return true;
        var (_, ones) = facts.Known(register);
        return (ones & Bits.Of(division.Width)) != 0;
    }

    /// <summary>A branch on the only way in that goes this way only when the divisor is not zero.</summary>
    private bool Guarded(BinaryInstr division, IrBlock block, Dictionary<IrBlock, List<IrBlock>> predecessors)
    {
        var divisor = division.Right.Register;
        var index = block.Instructions.IndexOf(division);
        if (block.Instructions.Take(index).Any(i => Liveness.Defs(i).Contains(divisor)))
            return false;
        var current = block;
        for (var depth = 0; depth < GuardSearchDepth && current != _function.Blocks[0] && predecessors[current].Count == 1; depth++)
        {
            var earlier = predecessors[current][0];
            if (earlier.Terminator is BranchTerm { Right.IsImmediate: true } branch && branch.True != branch.False && branch.Left == divisor &&
                (branch.Width == division.Width || branch.Width == Width.W32))
            {
                // Would a zero divisor have gone the other way? Then on this edge it is not zero (for a 32-bit test:
                // its low half is not, and neither then is the whole).
                var taken = branch.True == current;
                if (branch.Condition.Evaluate(branch.Width, 0, branch.Right.Immediate) != taken)
                    return true;
            }

            if (earlier.Instructions.Any(i => Liveness.Defs(i).Contains(divisor)))
                return false;
            current = earlier;
        }

        return false;
    }
}

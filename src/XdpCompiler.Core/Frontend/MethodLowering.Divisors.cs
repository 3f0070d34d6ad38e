using System.Numerics;
using Microsoft.CodeAnalysis;
using XdpCompiler.Core.Backend;
using XdpCompiler.Core.Diagnostics;
using XdpCompiler.Core.IR;
using XdpCompiler.Core.Optimize;

namespace XdpCompiler.Core.Frontend;

// Division by a register: C# throws on a zero divisor where eBPF yields 0 (or keeps the dividend for a remainder), so
// such a division is only accepted where the divisor cannot be zero. That is proved on the lowered IR, before any
// optimization could delete an unused division: from the values the divisor can hold (a byte plus one, a value or-ed
// with 1), or from a test on the only way in ("if (d != 0)", or "if (d == 0) return" before it) with no write to the
// divisor in between. A signed division is compiled as an unsigned one, which is only the same when both values are
// known not to be negative (bytes read from the packet, a test "d > 0"); C#'s MinValue / -1 cannot happen then either.
internal sealed partial class MethodLowering
{
    private const int GuardSearchDepth = 16;

    private readonly List<(IrInstr Division, SyntaxNode Divisor, bool Signed)> _divisions = new();

    private void RequireNonZeroDivisor(SyntaxNode divisor, bool signed) =>
        _divisions.Add((_current.Instructions[_current.Instructions.Count - 1], divisor, signed));

    private void CheckDivisors()
    {
        if (_divisions.Count == 0)
            return;
        var facts = new ValueFacts(_function);
        var predecessors = _function.Predecessors();

        foreach (var (division, divisor, signed) in _divisions)
        {
            var block = _function.Blocks.FirstOrDefault(b => b.Instructions.Contains(division));
            if (block is null || division is not BinaryInstr { Right.IsImmediate: false } b)
                continue; // unreachable code: it never divides
            if (signed && !NonNegative(facts, b.Left, b.Width))
            {
                Report(DiagnosticCatalog.UnsupportedConstruct, divisor, "Signed division of a value that may be negative",
                    "only non-negative values divide as eBPF does (C# rounds toward zero, and MinValue / -1 throws); divide uint or ulong values, or divide by a constant");
                continue;
            }

            // A signed divisor must be positive, not just non-zero: a test must rule out negative values too.
            var excluded = signed ? new long[] { 0, -1, b.Width == Width.W64 ? long.MinValue : int.MinValue } : new long[] { 0 };
            var proved = signed ? NonNegative(facts, b.Right.Register, b.Width) && NonZero(facts, b) : NonZero(facts, b);
            if (!proved && !Guarded(b, block, predecessors, excluded))
            {
                Report(DiagnosticCatalog.UnsupportedConstruct, divisor, signed ? "Division by a value that may be zero or negative" : "Division by a value that may be zero",
                    signed
                        ? "eBPF division by zero yields 0 where C# throws, and only positive divisors divide as C# does; test it first (if (d > 0) …), or divide by a constant"
                        : "eBPF division by zero yields 0 where C# throws; test the divisor first (if (d != 0) …, or return when it is 0), or divide by a non-zero constant");
            }
        }
    }

    private static bool NonNegative(ValueFacts facts, int register, Width width)
    {
        var range = facts.Range(register);
        var view = width == Width.W32 ? range.View32().ViewFor(Width.W32, signed: true) : range.ViewFor(Width.W64, signed: true);
        return view is { } v && v.Lo >= 0;
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

    /// <summary>
    /// The one value an equality edge lets through ("d == c" taken, "d != c" not taken), when it is a value a signed
    /// divisor must not have (zero or negative): checking 0, -1 and MinValue is enough for compares that split the
    /// values in runs, not for an edge that admits a single constant.
    /// </summary>
    private static IEnumerable<long> SingleValue(BranchTerm branch, bool taken, long[] excluded)
    {
        if (excluded.Length == 1 || !(branch.Condition == Condition.Eq && taken || branch.Condition == Condition.Ne && !taken))
            return [];
        var value = branch.Width == Width.W32 ? unchecked((int)branch.Right.Immediate) : branch.Right.Immediate;
        return value <= 0 ? [value] : [];
    }

    /// <summary>A branch on the only way in that goes this way for none of the <paramref name="excluded"/> divisor values.</summary>
    private bool Guarded(BinaryInstr division, IrBlock block, Dictionary<IrBlock, List<IrBlock>> predecessors, long[] excluded)
    {
        var divisor = division.Right.Register;
        var index = block.Instructions.IndexOf(division);
        if (block.Instructions.Take(index).Any(i => Liveness.Defs(i).Contains(divisor)))
            return false;
        // Would an excluded divisor have gone the other way? Compares against one constant split the values in at most
        // two runs, so checking 0 (and, for a signed divisor, -1 and MinValue) covers them. A 32-bit test of a 64-bit
        // divisor only rules out zero: its low half is not zero, so neither is the whole.
        return BranchImplication.GuardsOnTheWayIn(_function, block, divisor, predecessors, GuardSearchDepth).Any(guard =>
            (guard.Branch.Width == division.Width || guard.Branch.Width == Width.W32 && excluded.Length == 1) &&
            excluded.Concat(SingleValue(guard.Branch, guard.Taken, excluded))
                .All(value => guard.Branch.Condition.Evaluate(guard.Branch.Width, value, guard.Branch.Right.Immediate) != guard.Taken));
    }
}

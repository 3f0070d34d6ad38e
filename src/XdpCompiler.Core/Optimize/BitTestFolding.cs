using XdpCompiler.Core.Backend;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// Branches that only look at some bits become the ISA's bit test (<c>jset</c>), which needs neither a scratch copy
/// nor the masking instruction: "if ((x &amp; m) == 0)" tests x against m, "if ((sbyte)x &lt; 0)" tests bit 7 of x,
/// "if (v &lt; 4096)" tests v against the bits from 4096 up. A test then moves through the instructions that made the
/// value, when they only move, clear or set bits: a test of "x &gt;&gt; k" tests x against the mask shifted back, of
/// "(x &lt;&lt; 1) + 1" or a byte swap the bits they came from; bits known to be 0 or 1 leave the mask, and a
/// test of "x + c" that c cannot carry into compares the masked x with -c. Each step applies only when the value
/// stepped over is read by that branch alone, so the instruction computing it goes away, and its source still
/// holds the same value at the branch.
/// </summary>
internal static class BitTestFolding
{
    private const ulong Low32 = Bits.Low32;

    public static void Run(IrFunction function)
    {
        var facts = new ValueFacts(function);
        foreach (var block in function.Blocks)
        {
            if (block.Terminator is not BranchTerm { Right.IsImmediate: true } branch || Ir.IsPhysical(branch.Left))
                continue;

            // A register still holds at the branch what it held at "instruction" when it has one definition, or when
            // the instruction is in this block and nothing after it writes the register.
            bool Unchanged(int register, IrInstr instruction)
            {
                if (facts.Single(register))
                    return true;
                if (Ir.IsPhysical(register))
                    return false;
                var index = block.Instructions.IndexOf(instruction);
                return index >= 0 && !block.Instructions.Skip(index + 1).Any(i => Liveness.Defs(i).Contains(register));
            }

            bool OnlyHere(int register) => facts.Single(register) && facts.UseCount(register) == 1;

            var outcome = Fold(block, branch, facts, Unchanged, OnlyHere);
            if (outcome is bool taken)
                block.Terminator = new JumpTerm(taken ? branch.True : branch.False) { Source = branch.Source };
        }

        function.RemoveUnreachableBlocks();
    }

    /// <summary>Rewrites the block's branch in place; returns the outcome when the bits decide it.</summary>
    private static bool? Fold(IrBlock block, BranchTerm branch, ValueFacts facts, Func<int, IrInstr, bool> unchanged, Func<int, bool> onlyHere)
    {
        var original = branch;
        var test = Start(branch, facts, unchanged, onlyHere, out var decided);
        if (decided is not null)
            return decided;
        if (test is null)
            return null;

        var steps = 0;
        var set = test.Value.Set;
        var width = test.Value.Width;
        var register = test.Value.Register;
        var mask = test.Value.Mask;
        while (onlyHere(register) && facts.Definition(register) is { } definition)
        {
            var (nextMask, nextWidth, nextSet) = (mask, width, set);
            if (Step(definition, ref nextMask, ref nextWidth, ref nextSet, facts) is not { } source || !unchanged(source, definition))
                break;
            if (nextMask == 0)
                return !nextSet; // no bit left to test: "set" is false, "clear" is true
            if (!Fits(nextWidth, nextMask))
                break;
            (register, mask, width, set) = (source, nextMask, nextWidth, nextSet);
            steps++;
        }

        // A test of "x + c" where c reaches only bits from the lowest tested one up and the tested bits are
        // contiguous: they are zero in the sum exactly when they equal those of -c in x.
        if (onlyHere(register) && facts.Definition(register) is BinaryInstr { Op: BinaryOp.Add, Right.IsImmediate: true } add &&
            unchanged(add.Left, add) && Contiguous(mask) && Bits.Immediate(add.Width, add.Right.Immediate) is var c &&
            (c & ((mask & (~mask + 1)) - 1)) == 0 && (add.Width == Width.W64 || mask <= Low32))
        {
            var expected = (0 - c) & mask;
            var source = add.Left;
            // Through a byte swap too: "(swap(x) & m) == k" is "(x & swap(m)) == swap(k)".
            if (onlyHere(source) && facts.Definition(source) is SwapInstr { Bits: < 64 } swap && unchanged(swap.Src, swap) && mask < 1UL << swap.Bits)
            {
                (source, mask, expected) = (swap.Src, ValueFacts.Swap(mask, swap.Bits), ValueFacts.Swap(expected, swap.Bits));
            }

            var compareWidth = mask <= Low32 ? Width.W32 : Width.W64;
            if (Fits(compareWidth, mask) && Fits(compareWidth, expected))
            {
                Replace(facts, add, new BinaryInstr(BinaryOp.And, compareWidth, add.Dst, source, Operand.Imm(Encode(compareWidth, mask))) { Source = add.Source });
                block.Terminator = original with
                {
                    Condition = set ? Condition.Ne : Condition.Eq,
                    Width = compareWidth,
                    Left = add.Dst,
                    Right = Operand.Imm(Encode(compareWidth, expected)),
                };
                return null;
            }
        }

        if (steps == 0 && test.Value.Conversion || !Fits(width, mask))
            return null; // an ordered compare turned into a test only pays when the test moves
        block.Terminator = original with
        {
            Condition = set ? Condition.Set : Condition.Clear,
            Width = width,
            Left = register,
            Right = Operand.Imm(Encode(width, mask)),
        };
        return null;
    }

    private readonly record struct Test(int Register, ulong Mask, Width Width, bool Set, bool Conversion);

    /// <summary>The branch as a bit test of some register, if it is one.</summary>
    private static Test? Start(BranchTerm branch, ValueFacts facts, Func<int, IrInstr, bool> unchanged, Func<int, bool> onlyHere, out bool? decided)
    {
        decided = null;
        var widthMask = branch.Width == Width.W32 ? Low32 : ulong.MaxValue;
        var k = Bits.Immediate(branch.Width, branch.Right.Immediate);
        switch (branch.Condition)
        {
            case Condition.Set or Condition.Clear:
                return new Test(branch.Left, k, branch.Width, branch.Condition == Condition.Set, false);
            case Condition.Eq or Condition.Ne when onlyHere(branch.Left) && facts.Definition(branch.Left) is BinaryInstr
            {
                Op: BinaryOp.And, Right.IsImmediate: true,
            } and && unchanged(and.Left, and):
            {
                var width = and.Width == Width.W32 || branch.Width == Width.W32 ? Width.W32 : Width.W64;
                var narrow = width == Width.W32 ? Low32 : ulong.MaxValue;
                var mask = Bits.Immediate(and.Width, and.Right.Immediate) & narrow;
                k &= narrow;
                var eq = branch.Condition == Condition.Eq;
                if ((k & ~mask) != 0)
                {
                    decided = !eq; // the masked value never has bits outside the mask
                    return null;
                }

                // Bits of x known to be 0 or 1 need no test: they either match k or decide the compare.
                var (zeros, ones) = facts.Known(and.Left);
                var known = (zeros | ones) & mask;
                if ((ones & mask & ~k) != 0 || (zeros & mask & k) != 0)
                {
                    decided = !eq;
                    return null;
                }

                mask &= ~known;
                k &= mask;
                if (mask == 0)
                {
                    decided = eq;
                    return null;
                }

                if (k == 0)
                    return new Test(and.Left, mask, width, !eq, false);
                if (k == mask && (mask & (mask - 1)) == 0)
                    return new Test(and.Left, mask, width, eq, false);
                return null;
            }

            case Condition.LtSigned or Condition.GeSigned when k == 0 && facts.Definition(branch.Left) is ExtendInstr
            {
                Signed: true, FromBits: <= 32,
            } extend && unchanged(extend.Src, extend) && (branch.Width == Width.W32 || extend.To == Width.W64):
                // The sign of a sign-extended value is bit FromBits-1 of what was extended.
                return new Test(extend.Src, 1UL << (extend.FromBits - 1), Width.W32, branch.Condition == Condition.LtSigned, false);
            case Condition.LtUnsigned or Condition.GeUnsigned or Condition.LeUnsigned or Condition.GtUnsigned
                or Condition.LtSigned or Condition.GeSigned or Condition.LeSigned or Condition.GtSigned when onlyHere(branch.Left):
            {
                // v < 2^j is "no bit from j up is set"; a signed compare reads the same when v is never negative.
                var bound = branch.Condition is Condition.LeUnsigned or Condition.GtUnsigned or Condition.LeSigned or Condition.GtSigned ? k + 1 : k;
                if (bound == 0 || (bound & (bound - 1)) != 0 || bound > (widthMask >> 1))
                    return null;
                if (branch.Condition.IsSigned() && (branch.Width == Width.W32 ? facts.Range(branch.Left).Signed32View() : facts.Range(branch.Left)) is not { Lo.Sign: >= 0 })
                    return null;
                var below = branch.Condition is Condition.LtUnsigned or Condition.LeUnsigned or Condition.LtSigned or Condition.LeSigned;
                return new Test(branch.Left, widthMask & ~(bound - 1), branch.Width, !below, true);
            }

            default:
                return null;
        }
    }

    /// <summary>
    /// The register whose bits the test of <paramref name="definition"/>'s result reads, with the mask, width and
    /// sense rewritten to test it there; null when the instruction mixes bits.
    /// </summary>
    private static int? Step(IrInstr definition, ref ulong mask, ref Width width, ref bool set, ValueFacts facts)
    {
        switch (definition)
        {
            case MovInstr m:
                if (m.Width == Width.W32)
                    mask &= Low32;
                width = mask <= Low32 ? Width.W32 : Width.W64;
                return m.Src;
            case ExtendInstr { Signed: false } e:
                mask &= e.FromBits >= 64 ? ulong.MaxValue : (1UL << e.FromBits) - 1;
                width = mask <= Low32 ? Width.W32 : Width.W64;
                return e.Src;
            case ExtendInstr { Signed: true, FromBits: < 64 } e:
            {
                var low = (1UL << e.FromBits) - 1;
                var result = e.To == Width.W32 ? Low32 : ulong.MaxValue;
                mask = (mask & low) | ((mask & result & ~low) != 0 ? 1UL << (e.FromBits - 1) : 0);
                width = mask <= Low32 ? Width.W32 : Width.W64;
                return e.Src;
            }

            case SwapInstr { Bits: < 64 } s:
                mask = ValueFacts.Swap(mask & ((1UL << s.Bits) - 1), s.Bits);
                width = Width.W32;
                return s.Src;
            case SwapInstr s:
                mask = ValueFacts.Swap(mask, 64);
                width = mask <= Low32 ? Width.W32 : Width.W64;
                return s.Src;
            case BinaryInstr { Right.IsImmediate: true } b:
            {
                var bits = b.Width == Width.W32 ? 32 : 64;
                var operationMask = b.Width == Width.W32 ? Low32 : ulong.MaxValue;
                var shift = (int)(b.Right.Immediate & (bits - 1));
                var c = Bits.Immediate(b.Width, b.Right.Immediate);
                var m = mask & operationMask;
                switch (b.Op)
                {
                    case BinaryOp.And:
                        mask = m & c;
                        break;
                    case BinaryOp.Or when (m & c) == 0:
                        mask = m;
                        break;
                    case BinaryOp.Xor when (m & c) == 0:
                        mask = m;
                        break;
                    case BinaryOp.Xor when (m & (m - 1)) == 0:
                        mask = m;
                        set = !set; // one tested bit, flipped
                        break;
                    // A constant whose lowest bit is above every tested bit only carries further up; one whose bits
                    // all land on known zeros carries nowhere.
                    case BinaryOp.Add when (c & Bits.FillDown(m)) == 0 || (c & ~facts.Known(b.Left).Zeros & operationMask) == 0 && (m & c) == 0:
                        mask = m;
                        break;
                    case BinaryOp.Shl:
                        mask = m >> shift;
                        break;
                    case BinaryOp.ShrUnsigned:
                        mask = (m << shift) & operationMask;
                        break;
                    default:
                        return null;
                }

                width = mask <= Low32 ? Width.W32 : Width.W64;
                return b.Left;
            }

            default:
                return null;
        }
    }

    /// <summary>Replaces the instruction that defines a single-definition register, wherever it is.</summary>
    private static void Replace(ValueFacts facts, IrInstr old, IrInstr replacement)
    {
        foreach (var block in facts.Function.Blocks)
        {
            var index = block.Instructions.IndexOf(old);
            if (index >= 0)
            {
                block.Instructions[index] = replacement;
                return;
            }
        }
    }

    /// <summary>Whether a 64-bit test can carry the mask in its sign-extended 32-bit immediate (a 32-bit one always can).</summary>
    private static bool Fits(Width width, ulong mask) => width == Width.W32 ? mask <= Low32 : mask <= 0x7FFF_FFFF || mask >= 0xFFFF_FFFF_8000_0000;

    private static long Encode(Width width, ulong mask) => width == Width.W32 ? (long)(mask & Low32) : (long)mask;

    private static bool Contiguous(ulong mask)
    {
        if (mask == 0)
            return false;
        var shifted = mask / (mask & (~mask + 1));
        return (shifted & (shifted + 1)) == 0;
    }
}

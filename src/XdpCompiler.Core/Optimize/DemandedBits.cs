using XdpCompiler.Core.Backend;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Optimize;

/// <summary>
/// Bit-tracking dead code elimination: a backward analysis of which bits of each register anything later can observe
/// (a 32-bit compare reads the low half, a byte store the low byte, "x &amp; 3" two bits, a sum only the bits at and
/// below its highest demanded one), then rewrites of what only changes bits nobody observes: an extension whose added
/// bits are never read is a copy, "score += 128" is nothing when only "score &amp; 3" is ever looked at, a 32-bit move
/// read only in its low half is a 64-bit copy the register allocator can coalesce. Registers may have several
/// definitions (locals), so demand is tracked per program point, not per register.
/// </summary>
internal static class DemandedBits
{
    private const ulong All = ulong.MaxValue;
    private const ulong Low32 = Bits.Low32;

    public static void Run(IrFunction function)
    {
        var demandIn = function.Blocks.ToDictionary(b => b, _ => new Dictionary<int, ulong>());
        bool changed;
        do
        {
            changed = false;
            for (var i = function.Blocks.Count - 1; i >= 0; i--)
            {
                var block = function.Blocks[i];
                var demand = Exit(block, demandIn);
                for (var j = block.Instructions.Count - 1; j >= 0; j--)
                    Transfer(block.Instructions[j], demand);
                if (!Same(demand, demandIn[block]))
                {
                    demandIn[block] = demand;
                    changed = true;
                }
            }
        }
        while (changed);

        // Definitions as they are before any rewrite below: each rewrite keeps its register's value on the bits read.
        var facts = new ValueFacts(function);

        foreach (var block in function.Blocks)
        {
            var demand = Exit(block, demandIn);
            for (var j = block.Instructions.Count - 1; j >= 0; j--)
            {
                var instruction = block.Instructions[j];
                var rewritten = Rewrite(instruction, demand, facts);
                Transfer(instruction, demand);
                if (rewritten is null)
                    block.Instructions.RemoveAt(j);
                else if (!ReferenceEquals(rewritten, instruction))
                    block.Instructions[j] = rewritten;
            }
        }
    }

    /// <summary>Demand at the end of a block: what its successors need, and what its terminator reads.</summary>
    private static Dictionary<int, ulong> Exit(IrBlock block, Dictionary<IrBlock, Dictionary<int, ulong>> demandIn)
    {
        var demand = new Dictionary<int, ulong>();
        foreach (var successor in block.Successors)
        {
            if (!demandIn.TryGetValue(successor, out var incoming))
                continue;
            foreach (var pair in incoming)
                Demand(demand, pair.Key, pair.Value);
        }

        switch (block.Terminator)
        {
            case BranchTerm { Condition: Condition.Set or Condition.Clear, Right.IsImmediate: true } test:
                Demand(demand, test.Left, Bits.Immediate(test.Width, test.Right.Immediate));
                break;
            case BranchTerm branch:
                var mask = branch.Width == Width.W32 ? Low32 : All;
                Demand(demand, branch.Left, mask);
                if (!branch.Right.IsImmediate)
                    Demand(demand, branch.Right.Register, mask);
                break;
            case ExitTerm:
                Demand(demand, Reg.R0, All);
                break;
        }

        return demand;
    }

    private static void Demand(Dictionary<int, ulong> demand, int register, ulong bits)
    {
        if (register == Reg.R10 || bits == 0)
            return;
        demand[register] = demand.TryGetValue(register, out var old) ? old | bits : bits;
    }

    private static ulong Of(Dictionary<int, ulong> demand, int register) => demand.TryGetValue(register, out var bits) ? bits : 0;

    private static bool Same(Dictionary<int, ulong> a, Dictionary<int, ulong> b) =>
        a.Count == b.Count && a.All(pair => b.TryGetValue(pair.Key, out var v) && v == pair.Value);

    private static bool IsPure(IrInstr instruction) =>
        instruction is ConstInstr or MovInstr or BinaryInstr or NegInstr or ExtendInstr or SwapInstr or LoadInstr or LoadMapInstr or LoadGlobalInstr;

    /// <summary>Steps the demand backwards over one instruction: its result is no longer demanded, its operands are.</summary>
    private static void Transfer(IrInstr instruction, Dictionary<int, ulong> demand)
    {
        var defs = Liveness.Defs(instruction);
        var result = 0UL;
        foreach (var def in defs)
        {
            result |= Of(demand, def);
            demand.Remove(def);
        }

        if (IsPure(instruction) && result == 0 && defs.All(d => !Ir.IsPhysical(d)))
            return; // dead: it demands nothing of its operands


        switch (instruction)
        {
            case MovInstr m:
                Demand(demand, m.Src, m.Width == Width.W32 ? result & Low32 : result);
                break;
            case BinaryInstr b:
            {
                var (left, right) = OperandDemand(b, result);
                Demand(demand, b.Left, left);
                if (!b.Right.IsImmediate)
                    Demand(demand, b.Right.Register, right);
                break;
            }
            case NegInstr n:
                Demand(demand, n.Src, Bits.FillDown(result & Bits.Of(n.Width)));
                break;
            case ExtendInstr e:
                Demand(demand, e.Src, ExtendSourceDemand(e, result));
                break;
            case SwapInstr s:
                Demand(demand, s.Src, SwapDemand(result, s.Bits));
                break;
            case StoreInstr s:
                Demand(demand, s.Base, All);
                if (!s.Value.IsImmediate)
                    Demand(demand, s.Value.Register, Bits.Low(s.Size.Bits()));
                break;
            default:
                foreach (var use in Liveness.Uses(instruction))
                    Demand(demand, use, All);
                break;
        }

        // An instruction that stays reads its operands even when no bit of them matters ("(ushort)(x << 17)"): they
        // must stay defined, or the verifier sees a read of an uninitialised register.
        foreach (var use in Liveness.Uses(instruction))
        {
            if (Of(demand, use) == 0)
                Demand(demand, use, 1);
        }
    }

    /// <summary>The instruction to keep (itself, a cheaper equivalent on the demanded bits), or null to delete it.</summary>
    private static IrInstr? Rewrite(IrInstr instruction, Dictionary<int, ulong> demand, ValueFacts facts)
    {
        var defs = Liveness.Defs(instruction);
        if (!IsPure(instruction) || defs.Count != 1 || Ir.IsPhysical(defs[0]))
            return instruction;
        var result = Of(demand, defs[0]);
        if (result == 0)
            return null;

        IrInstr Copy(int dst, int src, Width width) =>
            dst == src && (width == Width.W64 || (result >> 32) == 0) ? null! : new MovInstr(dst, src, width) { Source = instruction.Source };

        switch (instruction)
        {
            case MovInstr { Width: Width.W32 } m when (result >> 32) == 0:
                return Copy(m.Dst, m.Src, Width.W64);
            case MovInstr m when m.Dst == m.Src && m.Width == Width.W64:
                return null;
            case BinaryInstr { Op: BinaryOp.ShrUnsigned, Right.IsImmediate: true } shift when facts.DefinitionThroughCopies(shift.Left) is SwapInstr swap &&
                facts.Single(swap.Src) && ShiftedSwap(shift, swap, result) is { } unswapped:
                return unswapped;
            case BinaryInstr { Right.IsImmediate: true } b:
            {
                var imm = Bits.Immediate(b.Width, b.Right.Immediate);
                var identity = b.Op switch
                {
                    BinaryOp.Add or BinaryOp.Sub => (imm & Bits.FillDown(result)) == 0,
                    BinaryOp.Or or BinaryOp.Xor => (imm & result) == 0,
                    BinaryOp.And => (result & ~imm & Bits.Of(b.Width)) == 0,
                    BinaryOp.Shl or BinaryOp.ShrUnsigned or BinaryOp.ShrSigned => (imm & (b.Width == Width.W32 ? 31UL : 63UL)) == 0,
                    _ => false,
                };
                if (!identity)
                    return instruction;
                // A 32-bit operation also clears the upper half; a copy of that width does the same.
                return Copy(b.Dst, b.Left, b.Width == Width.W32 && (result >> 32) != 0 ? Width.W32 : Width.W64);
            }

            case ExtendInstr e when (result & ~Bits.Low(e.FromBits)) == 0:
                return Copy(e.Dst, e.Src, Width.W64);
            default:
                return instruction;
        }
    }

    /// <summary>
    /// "swap(x) &gt;&gt; k" where every demanded bit comes from one byte of the swap: that byte is one byte of x, bits in
    /// the same order, so a shift of x by another amount puts them in place without the swap ("ntohll(v) &gt;&gt; 50",
    /// read two bits at a time, is "v &gt;&gt; 10"). The other result bits differ, and nobody reads them.
    /// </summary>
    private static IrInstr? ShiftedSwap(BinaryInstr shift, SwapInstr swap, ulong result)
    {
        var width = shift.Width == Width.W32 ? 32 : 64;
        var amount = (int)(shift.Right.Immediate & (width - 1));
        var read = (result & Bits.Of(shift.Width)) << amount; // the swap's bits the demanded result bits are
        if (read == 0 || amount + Bits.Log2(result & Bits.Of(shift.Width)) >= width)
            return null;
        var low = 0;
        while ((read >> low & 1) == 0)
            low++;
        var high = Bits.Log2(read);
        var swapped = low / 8;
        if (high / 8 != swapped || high >= swap.Bits)
            return null;
        var original = swap.Bits / 8 - 1 - swapped; // where that byte sits in x
        var adjusted = amount - 8 * (swapped - original);
        // x's byte may lie in its upper half, beyond what a 32-bit shift reads: shift all 64 bits then, unless
        // someone reads the upper half the 32-bit shift cleared.
        var wide = shift.Width == Width.W64 || 8 * original + 7 >= 32;
        if (wide && shift.Width == Width.W32 && (result >> 32) != 0)
            return null;
        if (adjusted == 0)
            return new MovInstr(shift.Dst, swap.Src, wide ? Width.W64 : Width.W32) { Source = shift.Source };
        var op = adjusted > 0 ? BinaryOp.ShrUnsigned : BinaryOp.Shl;
        return new BinaryInstr(op, wide ? Width.W64 : Width.W32, shift.Dst, swap.Src, Operand.Imm(Math.Abs(adjusted))) { Source = shift.Source };
    }

    private static (ulong Left, ulong Right) OperandDemand(BinaryInstr b, ulong result)
    {
        var width = Bits.Of(b.Width);
        var bits = b.Width == Width.W32 ? 32 : 64;
        result &= width;
        switch (b.Op)
        {
            case BinaryOp.Add or BinaryOp.Sub or BinaryOp.Mul:
                return (Bits.FillDown(result), Bits.FillDown(result));
            case BinaryOp.And:
                return b.Right.IsImmediate ? (result & Bits.Immediate(b.Width, b.Right.Immediate), 0) : (result, result);
            case BinaryOp.Or:
                return b.Right.IsImmediate ? (result & ~Bits.Immediate(b.Width, b.Right.Immediate), 0) : (result, result);
            case BinaryOp.Xor:
                return (result, result);
            case BinaryOp.Shl when b.Right.IsImmediate:
                return ((result >> (int)(b.Right.Immediate & (bits - 1))) & width, 0);
            case BinaryOp.Shl:
                return (Bits.FillDown(result), width);
            case BinaryOp.ShrUnsigned when b.Right.IsImmediate:
                return ((result << (int)(b.Right.Immediate & (bits - 1))) & width, 0);
            case BinaryOp.ShrSigned when b.Right.IsImmediate:
            {
                var shift = (int)(b.Right.Immediate & (bits - 1));
                var left = (result << shift) & width;
                // The top "shift" result bits are copies of the sign bit.
                var copies = shift == 0 ? 0 : width & ~(width >> shift);
                if ((result & copies) != 0)
                    left |= 1UL << (bits - 1);
                return (left, 0);
            }

            default:
                return result == 0 ? (0, 0) : (width, width);
        }
    }

    private static ulong ExtendSourceDemand(ExtendInstr e, ulong result)
    {
        result &= Bits.Of(e.To);
        var low = Bits.Low(e.FromBits);
        var source = result & low;
        if (e.Signed && (result & ~low) != 0)
            source |= 1UL << (e.FromBits - 1);
        return source;
    }

    /// <summary>The source bits a byte swap of the low <paramref name="bits"/> reads to produce the demanded result bits.</summary>
    private static ulong SwapDemand(ulong result, int bits)
    {
        var bytes = bits / 8;
        ulong source = 0;
        for (var i = 0; i < bytes; i++)
        {
            var part = (result >> (8 * i)) & 0xFF;
            source |= part << (8 * (bytes - 1 - i));
        }

        return source;
    }
}

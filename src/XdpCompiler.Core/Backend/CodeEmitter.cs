using System.Collections.Immutable;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Diagnostics;
using XdpCompiler.Core.IR;
using XdpCompiler.Core.Objects;
using XdpCompiler.Core.Pipeline;

namespace XdpCompiler.Core.Backend;

/// <summary>Turns register-allocated IR into eBPF: two-address form, block layout with fall-through, jump offsets.</summary>
internal sealed class CodeEmitter
{
    private readonly List<Instruction> _code = new();
    private readonly List<(int Index, IrBlock Target)> _fixups = new();
    private readonly Dictionary<IrBlock, int> _blockStarts = new();
    private readonly List<BpfRelocation> _relocations = new();
    private readonly List<(int Index, SourceSpan Span)> _sources = new();
    private readonly Dictionary<int, int> _colours;
    private SourceSpan? _source;

    private readonly CompilerOptions _options;

    private CodeEmitter(Dictionary<int, int> colours, CompilerOptions options)
    {
        _colours = colours;
        _options = options;
    }

    public static (ImmutableArray<Instruction> Code, ImmutableArray<BpfRelocation> Relocations, ImmutableArray<(int Index, SourceSpan Span)> Sources)
        Emit(IrFunction function, Dictionary<int, int> colours, CompilerOptions options)
    {
        var emitter = new CodeEmitter(colours, options);
        var blocks = function.Blocks;
        for (var i = 0; i < blocks.Count; i++)
        {
            var block = blocks[i];
            emitter._blockStarts[block] = emitter._code.Count;
            for (var j = 0; j < block.Instructions.Count; j++)
            {
                var instruction = block.Instructions[j];
                emitter._source = instruction.Source;
                if (j + 1 < block.Instructions.Count && emitter.SignedLoad(instruction, block.Instructions[j + 1]))
                {
                    j++;
                    continue;
                }
                emitter.Lower(instruction);
            }

            emitter._source = block.Terminator?.Source;
            emitter.Lower(block.Terminator!, i + 1 < blocks.Count ? blocks[i + 1] : null);
        }

        // Every exit returns r0, so a jump to one exit may go to any other. The kernel's JIT puts the epilogue at the
        // function's first exit and turns every later exit into a jump to it: a branch to a later exit would take two
        // jumps where a branch to the first takes one. Only forward: code without loops keeps no backward jump.
        var firstExit = emitter._code.FindIndex(i => i.IsExit);
        foreach (var (index, target) in emitter._fixups)
        {
            var destination = emitter._blockStarts[target];
            if (destination < emitter._code.Count && emitter._code[destination].IsExit && firstExit > index)
                destination = firstExit;
            var offset = destination - (index + 1);
            if (offset is < short.MinValue or > short.MaxValue)
                throw new RegisterAllocationException($"a jump of {offset} instructions does not fit in 16 bits");
            var jump = emitter._code[index];
            emitter._code[index] = jump with { Offset = (short)offset };
        }

        return (emitter._code.ToImmutableArray(), emitter._relocations.ToImmutableArray(), emitter._sources.ToImmutableArray());
    }

    /// <summary>
    /// cpu v4: a byte or halfword load sign-extended to 64 bits into the same register is one sign-extending load
    /// ("(long)(sbyte)data[28]"). The shared register means the unextended value is dead after the extension. Words are
    /// left alone: the context's fields are words, and the verifier refuses sign-extending loads from the context.
    /// </summary>
    private bool SignedLoad(IrInstr instruction, IrInstr next)
    {
        if (_options.Cpu < CpuVersion.V4 || instruction is not LoadInstr { Size: MemSize.B or MemSize.H } load ||
            next is not ExtendInstr { Signed: true, To: Width.W64 } extend || extend.Src != load.Dst || extend.FromBits != load.Size.Bits() ||
            P(extend.Dst) != P(load.Dst))
        {
            return false;
        }

        Add(Instruction.LoadSigned(load.Size, P(load.Dst), P(load.Base), load.Offset));
        return true;
    }

    private byte P(int register) => (byte)(Ir.IsPhysical(register) ? register : _colours[register]);

    private void Add(Instruction instruction)
    {
        if (_source is { } span)
            _sources.Add((_code.Count, span));
        _code.Add(instruction);
    }

    private void Move(byte dst, byte src, Width width)
    {
        if (width == Width.W32)
            Add(Instruction.Mov32Reg(dst, src));
        else if (dst != src)
            Add(Instruction.Mov64Reg(dst, src));
    }

    private void Lower(IrInstr instruction)
    {
        switch (instruction)
        {
            case ConstInstr c:
                LoadConstant(P(c.Dst), c.Value);
                break;
            case MovInstr m:
                Move(P(m.Dst), P(m.Src), m.Width);
                break;
            case BinaryInstr binary:
            {
                var b = binary;
                var dst = P(b.Dst);
                if (!b.Right.IsImmediate && dst == P(b.Right.Register) && dst != P(b.Left))
                {
                    // Copying left into dst first would overwrite right: only an operation that commutes can be
                    // done the other way round.
                    if (b.Op is not (BinaryOp.Add or BinaryOp.Mul or BinaryOp.And or BinaryOp.Or or BinaryOp.Xor))
                        throw new InvalidOperationException($"{b.Op} writes its right operand's register {dst} before reading it.");
                    b = b with { Left = b.Right.Register, Right = Operand.Reg(b.Left) };
                }

                if (dst != P(b.Left))
                    Move(dst, P(b.Left), b.Width);
                var op = AluOf(b.Op);
                Instruction alu;
                if (b.Right.IsImmediate)
                {
                    var imm = unchecked((int)b.Right.Immediate);
                    alu = b.Width == Width.W64 ? Instruction.Alu64(op, dst, imm) : Instruction.Alu32(op, dst, imm);
                }
                else
                {
                    var src = P(b.Right.Register);
                    alu = b.Width == Width.W64 ? Instruction.Alu64Reg(op, dst, src) : Instruction.Alu32Reg(op, dst, src);
                }

                // v4's sdiv and smod are div and mod with offset 1.
                Add(b.Op is BinaryOp.DivSigned or BinaryOp.ModSigned ? alu with { Offset = 1 } : alu);

                break;
            }
            case NegInstr n:
            {
                var dst = P(n.Dst);
                if (dst != P(n.Src))
                    Move(dst, P(n.Src), n.Width);
                Add(n.Width == Width.W64 ? Instruction.Alu64(AluOp.Neg, dst, 0) : Instruction.Alu32(AluOp.Neg, dst, 0));
                break;
            }
            case ExtendInstr e:
                LowerExtend(e);
                break;
            case SwapInstr s:
            {
                var dst = P(s.Dst);
                if (dst != P(s.Src))
                    Move(dst, P(s.Src), Width.W64);
                Add(Instruction.ToBigEndian(dst, s.Bits));
                break;
            }
            case LoadInstr l:
                Add(Instruction.Load(l.Size, P(l.Dst), P(l.Base), l.Offset));
                break;
            case StoreInstr s:
                Add(s.Value.IsImmediate
                    ? Instruction.StoreImm(s.Size, P(s.Base), s.Offset, unchecked((int)s.Value.Immediate))
                    : Instruction.Store(s.Size, P(s.Base), s.Offset, P(s.Value.Register)));
                break;
            case AtomicInstr a:
                Add(Instruction.Atomic(a.Size, a.FetchDst is null ? a.Op : a.Op | AtomicOp.Fetch, P(a.Base), a.Offset, P(a.Value)));
                break;
            case LoadMapInstr m:
            {
                _relocations.Add(new BpfRelocation(_code.Count, m.Map, BpfRelocationKind.Map));
                var (first, second) = Instruction.LoadImm64(P(m.Dst), 0);
                Add(first);
                Add(second);
                break;
            }
            case LoadGlobalInstr g:
            {
                _relocations.Add(new BpfRelocation(_code.Count, g.Variable, BpfRelocationKind.GlobalData));
                var (first, second) = Instruction.LoadImm64(P(g.Dst), 0);
                Add(first);
                Add(second);
                break;
            }
            case CallInstr { Subprogram: { } subprogram }:
                // The writer and the loader resolve the target from the relocation; imm -1 is clang's placeholder.
                _relocations.Add(new BpfRelocation(_code.Count, subprogram, BpfRelocationKind.Call));
                Add(Instruction.CallLocal(-1));
                break;
            case CallInstr call:
                Add(Instruction.CallHelper(call.Helper));
                break;
            default:
                throw new InvalidOperationException($"No lowering for {instruction.GetType().Name}.");
        }
    }

    private void LoadConstant(byte dst, long value)
    {
        if (value is >= int.MinValue and <= int.MaxValue)
        {
            Add(Instruction.Mov64(dst, (int)value));
        }
        else if (value is > 0 and <= uint.MaxValue)
        {
            // A 32-bit move zero-extends: the canonical form of a negative 32-bit value.
            Add(Instruction.Mov32(dst, unchecked((int)(uint)value)));
        }
        else
        {
            var (first, second) = Instruction.LoadImm64(dst, value);
            Add(first);
            Add(second);
        }
    }

    private void LowerExtend(ExtendInstr e)
    {
        var dst = P(e.Dst);
        var src = P(e.Src);
        // v4's movsx sign-extends 8, 16 (and, 64-bit, 32) bits in one instruction: "r1 = (s8)r2".
        if (_options.Cpu >= CpuVersion.V4 && e.Signed && (e.FromBits is 8 or 16 || e.FromBits == 32 && e.To == Width.W64))
        {
            var mov = e.To == Width.W64 ? Instruction.Mov64Reg(dst, src) : Instruction.Mov32Reg(dst, src);
            Add(mov with { Offset = (short)e.FromBits });
            return;
        }

        if (e.To == Width.W64)
        {
            if (!e.Signed && e.FromBits == 32)
            {
                Add(Instruction.Mov32Reg(dst, src));
                return;
            }

            Move(dst, src, Width.W64);
            if (e.Signed)
            {
                Add(Instruction.Alu64(AluOp.Lsh, dst, 64 - e.FromBits));
                Add(Instruction.Alu64(AluOp.Arsh, dst, 64 - e.FromBits));
            }
            else
            {
                Add(Instruction.Alu64(AluOp.And, dst, (int)((1L << e.FromBits) - 1)));
            }

            return;
        }

        if (e.FromBits >= 32)
        {
            Add(Instruction.Mov32Reg(dst, src));
            return;
        }

        if (dst != src)
            Add(Instruction.Mov32Reg(dst, src));
        if (e.Signed)
        {
            Add(Instruction.Alu32(AluOp.Lsh, dst, 32 - e.FromBits));
            Add(Instruction.Alu32(AluOp.Arsh, dst, 32 - e.FromBits));
        }
        else
        {
            Add(Instruction.Alu32(AluOp.And, dst, (int)((1L << e.FromBits) - 1)));
        }
    }

    /// <summary>
    /// The jump a branch becomes when <paramref name="next"/> follows it: the condition, the target it jumps to, and
    /// the one it continues to (past a goto when that is not <paramref name="next"/>). There is no "jump if clear":
    /// it jumps on set to the other target instead.
    /// </summary>
    internal static (Condition Condition, IrBlock Taken, IrBlock Fallthrough) Orient(BranchTerm branch, IrBlock? next)
    {
        var (condition, taken, fallthrough) = branch.True == next
            ? (branch.Condition.Negate(), branch.False, branch.True)
            : (branch.Condition, branch.True, branch.False);
        return condition == Condition.Clear ? (Condition.Set, fallthrough, taken) : (condition, taken, fallthrough);
    }

    private void Lower(Terminator terminator, IrBlock? next)
    {
        switch (terminator)
        {
            case ExitTerm:
                Add(Instruction.Exit());
                break;
            case JumpTerm jump:
                if (jump.Target != next)
                    Jump(Instruction.Goto(0), jump.Target);
                break;
            case BranchTerm branch:
            {
                var (condition, taken, fallthrough) = Orient(branch, next);
                var op = JumpOf(condition);
                var left = P(branch.Left);
                Instruction instruction;
                if (branch.Right.IsImmediate)
                {
                    var imm = unchecked((int)branch.Right.Immediate);
                    instruction = branch.Width == Width.W64 ? Instruction.Jump(op, left, imm, 0) : Instruction.Jump32(op, left, imm, 0);
                }
                else
                {
                    var right = P(branch.Right.Register);
                    instruction = branch.Width == Width.W64 ? Instruction.JumpReg(op, left, right, 0) : Instruction.Jump32Reg(op, left, right, 0);
                }

                Jump(instruction, taken);
                if (fallthrough != next)
                    Jump(Instruction.Goto(0), fallthrough);
                break;
            }
            default:
                throw new InvalidOperationException("A block has no terminator.");
        }
    }

    private void Jump(Instruction instruction, IrBlock target)
    {
        _fixups.Add((_code.Count, target));
        Add(instruction);
    }

    private static AluOp AluOf(BinaryOp op) => op switch
    {
        BinaryOp.Add => AluOp.Add,
        BinaryOp.Sub => AluOp.Sub,
        BinaryOp.Mul => AluOp.Mul,
        BinaryOp.DivUnsigned => AluOp.Div,
        BinaryOp.ModUnsigned => AluOp.Mod,
        BinaryOp.And => AluOp.And,
        BinaryOp.Or => AluOp.Or,
        BinaryOp.Xor => AluOp.Xor,
        BinaryOp.Shl => AluOp.Lsh,
        BinaryOp.ShrUnsigned => AluOp.Rsh,
        BinaryOp.ShrSigned => AluOp.Arsh,
        BinaryOp.DivSigned => AluOp.Div,
        BinaryOp.ModSigned => AluOp.Mod,
        _ => throw new InvalidOperationException($"No eBPF instruction for {op}."),
    };

    private static JmpOp JumpOf(Condition condition) => condition switch
    {
        Condition.Eq => JmpOp.Jeq,
        Condition.Ne => JmpOp.Jne,
        Condition.GtUnsigned => JmpOp.Jgt,
        Condition.GeUnsigned => JmpOp.Jge,
        Condition.LtUnsigned => JmpOp.Jlt,
        Condition.LeUnsigned => JmpOp.Jle,
        Condition.GtSigned => JmpOp.Jsgt,
        Condition.GeSigned => JmpOp.Jsge,
        Condition.LtSigned => JmpOp.Jslt,
        Condition.Set => JmpOp.Jset,
        _ => JmpOp.Jsle,
    };
}

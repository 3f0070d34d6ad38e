using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Diagnostics;
using XdpCompiler.Core.IR;
using XdpCompiler.Core.Pipeline;

namespace XdpCompiler.Core.Frontend;

internal sealed partial class MethodLowering
{
    // ---- conversions ----

    private Operand EmitConversion(IConversionOperation conversion)
    {
        if (conversion.OperatorMethod is not null)
            return Fail(DiagnosticCatalog.UnsupportedCall, conversion.Syntax, conversion.OperatorMethod.ToDisplayString(), "user-defined conversions are not supported yet");
        var value = Eval(conversion.Operand);
        if (conversion.Operand.Type is null || conversion.Type is null)
            return value;
        if (!CheckScalar(conversion.Operand.Type, conversion.Operand.Syntax, out var from) ||
            !CheckScalar(conversion.Type, conversion.Syntax, out var to))
        {
            return Operand.Imm(0);
        }

        return Convert(value, from, to);
    }

    /// <summary>Re-normalizes a canonical value of one scalar type as another (C#'s unchecked conversion).</summary>
    private Operand Convert(Operand value, Scalar from, Scalar to)
    {
        if (to.IsBool || from.IsBool && to.Size >= 1)
            return value;
        var fromBits = from.Bits;
        var toBits = to.Bits;

        if (toBits == 64)
        {
            // A 32-bit canonical value is zero-extended already; a signed one needs its sign spread into the upper half.
            if (fromBits == 64 || !from.Signed)
                return value;
            return Extend(value, 32, signed: true, Width.W64);
        }

        if (toBits == 32)
            return fromBits == 64 ? Extend(value, 32, signed: false, Width.W32) : value;

        // A narrower target: nothing to do when every value of the source fits the target's canonical form.
        if (fromBits < toBits && (from.Signed == to.Signed || (!from.Signed && to.Signed)))
            return value;
        return Extend(value, toBits, to.Signed, Width.W32);
    }

    private Operand Extend(Operand value, int fromBits, bool signed, Width to)
    {
        if (value.IsImmediate)
        {
            var v = value.Immediate;
            var shift = 64 - fromBits;
            v = signed ? (v << shift) >> shift : (long)((ulong)(v << shift) >> shift);
            return Operand.Imm(to == Width.W32 ? v & 0xFFFF_FFFFL : v);
        }

        var dst = _function.NewRegister();
        Emit(new ExtendInstr(dst, value.Register, fromBits, signed, to));
        return Operand.Reg(dst);
    }

    // ---- arithmetic ----

    private Operand EmitBinary(IBinaryOperation binary)
    {
        if (binary.OperatorMethod is not null)
            return Fail(DiagnosticCatalog.UnsupportedCall, binary.Syntax, binary.OperatorMethod.ToDisplayString(), "user-defined operators are not supported yet");
        if (IsComparison(binary.OperatorKind) || binary.OperatorKind is BinaryOperatorKind.ConditionalAnd or BinaryOperatorKind.ConditionalOr)
            return EmitBoolValue(binary);

        if (!CheckScalar(binary.Type!, binary.Syntax, out var result) ||
            !CheckScalar(binary.LeftOperand.Type!, binary.LeftOperand.Syntax, out var left) ||
            !CheckScalar(binary.RightOperand.Type!, binary.RightOperand.Syntax, out var right))
        {
            return Operand.Imm(0);
        }

        if (left.IsPointer || right.IsPointer)
            return EmitPointerArithmetic(binary, left, right);

        var op = MapOperator(binary.OperatorKind, result, binary.Syntax);
        if (op is null)
            return Operand.Imm(0);
        return EmitArithmetic(op.Value, result, Eval(binary.LeftOperand), Eval(binary.RightOperand), binary.RightOperand.Syntax);
    }

    // Signed division has no v3 instruction; these stand for it until EmitSignedDivision expands them.
    private const BinaryOp SignedDivide = (BinaryOp)0xF0;
    private const BinaryOp SignedRemainder = (BinaryOp)0xF1;

    private Operand EmitArithmetic(BinaryOp op, Scalar type, Operand left, Operand right, SyntaxNode rightSyntax)
    {
        var width = type.Width;
        if (op is BinaryOp.DivUnsigned or BinaryOp.ModUnsigned or SignedDivide or SignedRemainder && right.IsImmediate && right.Immediate == 0)
        {
            return Fail(DiagnosticCatalog.UnsupportedConstruct, rightSyntax, "Division by zero",
                "C# throws DivideByZeroException where eBPF yields 0");
        }

        if (op is BinaryOp.DivUnsigned or BinaryOp.ModUnsigned or SignedDivide or SignedRemainder && !right.IsImmediate)
        {
            // Proved non-zero (and, when signed, non-negative) or reported once the whole method is lowered: see
            // CheckDivisors.
            var signed = op is SignedDivide or SignedRemainder;
            var unsigned = op is BinaryOp.DivUnsigned or SignedDivide ? BinaryOp.DivUnsigned : BinaryOp.ModUnsigned;
            var quotient = _function.NewRegister();
            Emit(new BinaryInstr(unsigned, width, quotient, ToRegister(left), right));
            RequireNonZeroDivisor(rightSyntax, signed);
            return Operand.Reg(quotient);
        }

        if (op is SignedDivide or SignedRemainder)
            return EmitSignedDivision(op == SignedRemainder, type, left, right.Immediate, rightSyntax);

        if (op is BinaryOp.Shl or BinaryOp.ShrSigned or BinaryOp.ShrUnsigned)
        {
            // C# masks the shift count to the operand width; eBPF leaves larger counts undefined.
            var mask = width == Width.W64 ? 63 : 31;
            if (right.IsImmediate)
            {
                right = Operand.Imm(right.Immediate & mask);
            }
            else
            {
                var masked = _function.NewRegister();
                Emit(new BinaryInstr(BinaryOp.And, Width.W32, masked, right.Register, Operand.Imm(mask)));
                right = Operand.Reg(masked);
            }
        }

        if (left.IsImmediate && right.IsImmediate)
            return Operand.Imm(Fold(op, width, left.Immediate, right.Immediate));
        if (left.IsImmediate && IsCommutative(op))
            (left, right) = (right, left);

        var dst = _function.NewRegister();
        Emit(new BinaryInstr(op, width, dst, ToRegister(left), FitImmediate(right, width)));
        return Operand.Reg(dst);
    }

    /// <summary>
    /// C#'s truncating signed division and remainder by a constant, without a signed divide instruction and without
    /// branches: divide magnitudes unsigned, then restore the sign with m = x >> (bits-1) (all ones when negative):
    /// |x| = (x ^ m) - m, and -q = (q ^ m) - m.
    /// </summary>
    private Operand EmitSignedDivision(bool remainder, Scalar type, Operand left, long divisorBits, SyntaxNode divisorSyntax)
    {
        var width = type.Width;
        var divisor = width == Width.W32 ? (int)divisorBits : divisorBits;
        if (divisor == -1)
        {
            return Fail(DiagnosticCatalog.UnsupportedConstruct, divisorSyntax, "Signed division by -1",
                "C# throws OverflowException for MinValue / -1; write -x (or 0 for the remainder)");
        }

        var magnitude = divisor < 0 ? -divisor : divisor;
        if (left.IsImmediate)
        {
            var value = width == Width.W32 ? (int)left.Immediate : left.Immediate;
            var folded = remainder ? value % divisor : value / divisor;
            return Operand.Imm(width == Width.W32 ? folded & 0xFFFF_FFFFL : folded);
        }

        if (_options.Cpu >= CpuVersion.V4)
        {
            var dst = _function.NewRegister();
            Emit(new BinaryInstr(remainder ? BinaryOp.ModSigned : BinaryOp.DivSigned, width, dst, left.Register,
                FitImmediate(Operand.Imm(divisorBits), width)));
            return Operand.Reg(dst);
        }

        var bits = width == Width.W32 ? 32 : 64;
        var sign = EmitArithmetic(BinaryOp.ShrSigned, type, left, Operand.Imm(bits - 1), divisorSyntax);
        var absolute = EmitArithmetic(BinaryOp.Sub, type, EmitArithmetic(BinaryOp.Xor, type, left, sign, divisorSyntax), sign, divisorSyntax);
        var quotient = EmitArithmetic(remainder ? BinaryOp.ModUnsigned : BinaryOp.DivUnsigned, type, absolute, Operand.Imm(magnitude), divisorSyntax);
        // The remainder takes the dividend's sign; the quotient is negative when exactly one operand is.
        var resultSign = !remainder && divisor < 0 ? EmitArithmetic(BinaryOp.Xor, type, sign, Operand.Imm(-1), divisorSyntax) : sign;
        return EmitArithmetic(BinaryOp.Sub, type, EmitArithmetic(BinaryOp.Xor, type, quotient, resultSign, divisorSyntax), resultSign, divisorSyntax);
    }

    /// <summary>Keeps an immediate only where the instruction can carry it (32 bits, sign-extended for 64-bit ops).</summary>
    private Operand FitImmediate(Operand operand, Width width)
    {
        if (!operand.IsImmediate)
            return operand;
        if (width == Width.W32 || operand.Immediate is >= int.MinValue and <= int.MaxValue)
            return operand;
        return Operand.Reg(ToRegister(operand));
    }

    private static long Fold(BinaryOp op, Width width, long a, long b)
    {
        long r = op switch
        {
            BinaryOp.Add => a + b,
            BinaryOp.Sub => a - b,
            BinaryOp.Mul => a * b,
            BinaryOp.DivUnsigned => width == Width.W32 ? (long)((uint)a / (uint)b) : (long)((ulong)a / (ulong)b),
            BinaryOp.ModUnsigned => width == Width.W32 ? (long)((uint)a % (uint)b) : (long)((ulong)a % (ulong)b),
            BinaryOp.And => a & b,
            BinaryOp.Or => a | b,
            BinaryOp.Xor => a ^ b,
            BinaryOp.Shl => a << (int)b,
            BinaryOp.ShrUnsigned => width == Width.W32 ? (long)((uint)a >> (int)b) : (long)((ulong)a >> (int)b),
            BinaryOp.ShrSigned => width == Width.W32 ? (int)a >> (int)b : a >> (int)b,
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };
        return width == Width.W32 ? r & 0xFFFF_FFFFL : r;
    }

    private static bool IsCommutative(BinaryOp op) => op is BinaryOp.Add or BinaryOp.Mul or BinaryOp.And or BinaryOp.Or or BinaryOp.Xor;

    /// <summary>The IR operation of a C# arithmetic operator (plain or compound) in the given operand type.</summary>
    private BinaryOp? MapOperator(BinaryOperatorKind kind, Scalar type, SyntaxNode syntax)
    {
        switch (kind)
        {
            case BinaryOperatorKind.Add: return BinaryOp.Add;
            case BinaryOperatorKind.Subtract: return BinaryOp.Sub;
            case BinaryOperatorKind.Multiply: return BinaryOp.Mul;
            case BinaryOperatorKind.And: return BinaryOp.And;
            case BinaryOperatorKind.Or: return BinaryOp.Or;
            case BinaryOperatorKind.ExclusiveOr: return BinaryOp.Xor;
            case BinaryOperatorKind.LeftShift: return BinaryOp.Shl;
            case BinaryOperatorKind.RightShift: return type.Signed ? BinaryOp.ShrSigned : BinaryOp.ShrUnsigned;
            case BinaryOperatorKind.UnsignedRightShift: return BinaryOp.ShrUnsigned;
            case BinaryOperatorKind.Divide: return type.Signed ? SignedDivide : BinaryOp.DivUnsigned;
            case BinaryOperatorKind.Remainder: return type.Signed ? SignedRemainder : BinaryOp.ModUnsigned;
            default:
                Report(DiagnosticCatalog.UnsupportedConstruct, syntax, $"Operator {kind}", "it has no eBPF lowering");
                return null;
        }
    }

    private Operand EmitPointerArithmetic(IBinaryOperation binary, Scalar left, Scalar right)
    {
        var kind = binary.OperatorKind;
        if (left.IsPointer && right.IsPointer && kind == BinaryOperatorKind.Subtract)
        {
            // C#'s pointer difference: bytes between them over the element size, as a long. The kernel allows
            // subtracting two pointers only for privileged loaders (it leaks nothing but a distance here).
            var longType = new Scalar(8, true, false, false, binary.Type!);
            var bytes = EmitArithmetic(BinaryOp.Sub, longType, Operand.Reg(EvalToRegister(binary.LeftOperand)),
                Operand.Reg(EvalToRegister(binary.RightOperand)), binary.Syntax);
            var size = ElementSize(left, binary.Syntax);
            return size == 1 ? bytes : EmitSignedDivision(remainder: false, longType, bytes, size, binary.Syntax);
        }

        if (left.IsPointer && right.IsPointer || kind is not (BinaryOperatorKind.Add or BinaryOperatorKind.Subtract) ||
            right.IsPointer && kind == BinaryOperatorKind.Subtract)
        {
            return Fail(DiagnosticCatalog.UnsupportedConstruct, binary.Syntax, $"Pointer operation '{binary.Syntax}'",
                "only pointer + integer and pointer - integer are supported");
        }

        var (pointerOp, indexOp, indexType, pointerType) = left.IsPointer
            ? (binary.LeftOperand, binary.RightOperand, right, left)
            : (binary.RightOperand, binary.LeftOperand, left, right);
        var elementSize = ElementSize(pointerType, binary.Syntax);
        var pointer = EvalToRegister(pointerOp);
        var index = Convert(Eval(indexOp), indexType, indexType with { Size = 8, Signed = indexType.Signed });
        return OffsetPointer(pointer, index, elementSize, negate: kind == BinaryOperatorKind.Subtract);
    }

    /// <summary>pointer + index * elementSize, keeping a constant offset as an immediate add the verifier can track.</summary>
    private Operand OffsetPointer(int pointer, Operand index, int elementSize, bool negate)
    {
        var dst = _function.NewRegister();
        if (index.IsImmediate)
        {
            var offset = index.Immediate * elementSize * (negate ? -1 : 1);
            Emit(new BinaryInstr(BinaryOp.Add, Width.W64, dst, pointer, FitImmediate(Operand.Imm(offset), Width.W64)));
            return Operand.Reg(dst);
        }

        var scaled = index.Register;
        if (elementSize != 1)
        {
            scaled = _function.NewRegister();
            Emit(new BinaryInstr(BinaryOp.Mul, Width.W64, scaled, index.Register, Operand.Imm(elementSize)));
        }

        Emit(new BinaryInstr(negate ? BinaryOp.Sub : BinaryOp.Add, Width.W64, dst, pointer, Operand.Reg(scaled)));
        return Operand.Reg(dst);
    }

    private int ElementSize(Scalar pointer, SyntaxNode syntax)
    {
        if (pointer.Pointee is not { } pointee || pointee.SpecialType == SpecialType.System_Void)
            return 1;
        if (_layout.SizeOf(pointee) is { } size)
            return size;
        Report(DiagnosticCatalog.UnsupportedType, syntax, pointee.ToDisplayString(), "it has no fixed unmanaged layout");
        return 1;
    }

    private Operand EmitUnary(IUnaryOperation unary)
    {
        if (unary.OperatorMethod is not null)
            return Fail(DiagnosticCatalog.UnsupportedCall, unary.Syntax, unary.OperatorMethod.ToDisplayString(), "user-defined operators are not supported yet");
        if (unary.OperatorKind == UnaryOperatorKind.Not)
            return EmitBoolValue(unary);
        if (!CheckScalar(unary.Type!, unary.Syntax, out var type))
            return Operand.Imm(0);
        var value = Eval(unary.Operand);
        switch (unary.OperatorKind)
        {
            case UnaryOperatorKind.Plus:
                return value;
            case UnaryOperatorKind.BitwiseNegation:
                return EmitArithmetic(BinaryOp.Xor, type, value, Operand.Imm(-1), unary.Syntax);
            case UnaryOperatorKind.Minus:
                if (value.IsImmediate)
                    return Operand.Imm(Fold(BinaryOp.Sub, type.Width, 0, value.Immediate));
                var dst = _function.NewRegister();
                Emit(new NegInstr(dst, value.Register, type.Width));
                return Operand.Reg(dst);
            default:
                return Fail(DiagnosticCatalog.UnsupportedConstruct, unary.Syntax, $"Operator {unary.OperatorKind}", "it has no eBPF lowering");
        }
    }

    // ---- conditions ----

    private static bool IsComparison(BinaryOperatorKind kind) => kind is BinaryOperatorKind.Equals or BinaryOperatorKind.NotEquals
        or BinaryOperatorKind.LessThan or BinaryOperatorKind.LessThanOrEqual or BinaryOperatorKind.GreaterThan
        or BinaryOperatorKind.GreaterThanOrEqual;

    /// <summary>Branches on a boolean expression, short-circuiting &amp;&amp; and || into control flow.</summary>
    private void EmitBranch(IOperation condition, IrBlock whenTrue, IrBlock whenFalse)
    {
        if (condition.ConstantValue is { HasValue: true, Value: bool known })
        {
            JumpTo(known ? whenTrue : whenFalse);
            return;
        }

        switch (condition)
        {
            case IBinaryOperation { OperatorKind: BinaryOperatorKind.ConditionalAnd } and:
            {
                var right = _function.NewBlockDetached();
                EmitBranch(and.LeftOperand, right, whenFalse);
                StartBlock(right);
                EmitBranch(and.RightOperand, whenTrue, whenFalse);
                return;
            }
            case IBinaryOperation { OperatorKind: BinaryOperatorKind.ConditionalOr } or:
            {
                var right = _function.NewBlockDetached();
                EmitBranch(or.LeftOperand, whenTrue, right);
                StartBlock(right);
                EmitBranch(or.RightOperand, whenTrue, whenFalse);
                return;
            }
            case IIsPatternOperation isPattern:
                EmitIsPatternBranch(isPattern, whenTrue, whenFalse);
                return;
            case IUnaryOperation { OperatorKind: UnaryOperatorKind.Not, OperatorMethod: null } not:
                EmitBranch(not.Operand, whenFalse, whenTrue);
                return;
            case IBinaryOperation { OperatorMethod: null } compare when IsComparison(compare.OperatorKind):
                EmitCompare(compare, whenTrue, whenFalse);
                return;
            default:
                var value = ToRegister(Eval(condition));
                BranchTo(new BranchTerm(Condition.Ne, Width.W32, value, Operand.Imm(0), whenTrue, whenFalse));
                return;
        }
    }

    private void EmitCompare(IBinaryOperation compare, IrBlock whenTrue, IrBlock whenFalse)
    {
        if (!CheckScalar(compare.LeftOperand.Type!, compare.LeftOperand.Syntax, out var type) ||
            !CheckScalar(compare.RightOperand.Type!, compare.RightOperand.Syntax, out _))
        {
            JumpTo(whenFalse);
            return;
        }

        var condition = ConditionFor(compare.OperatorKind, type.Signed && !type.IsPointer);
        var left = Eval(compare.LeftOperand);
        var right = Eval(compare.RightOperand);
        if (left.IsImmediate && !right.IsImmediate)
        {
            (left, right) = (right, left);
            condition = condition.Swap();
        }

        if (left.IsImmediate)
        {
            JumpTo(condition.Evaluate(type.Width, left.Immediate, right.Immediate) ? whenTrue : whenFalse);
            return;
        }

        BranchTo(new BranchTerm(condition, type.Width, left.Register, FitImmediate(right, type.Width), whenTrue, whenFalse));
    }

    /// <summary>The jump condition of a C# comparison operator, signed or unsigned by the operands' type.</summary>
    private static Condition ConditionFor(BinaryOperatorKind kind, bool signed) => kind switch
    {
        BinaryOperatorKind.Equals => Condition.Eq,
        BinaryOperatorKind.NotEquals => Condition.Ne,
        BinaryOperatorKind.LessThan => signed ? Condition.LtSigned : Condition.LtUnsigned,
        BinaryOperatorKind.LessThanOrEqual => signed ? Condition.LeSigned : Condition.LeUnsigned,
        BinaryOperatorKind.GreaterThan => signed ? Condition.GtSigned : Condition.GtUnsigned,
        _ => signed ? Condition.GeSigned : Condition.GeUnsigned,
    };

    private void BranchTo(BranchTerm branch)
    {
        if (_current.Terminator is null)
            _current.Terminator = branch with { Source = _source };
    }

    private Operand EmitBoolValue(IOperation condition)
    {
        var dst = _function.NewRegister();
        var whenTrue = _function.NewBlockDetached();
        var whenFalse = _function.NewBlockDetached();
        var join = _function.NewBlockDetached();
        EmitBranch(condition, whenTrue, whenFalse);
        StartBlock(whenTrue);
        Emit(new ConstInstr(dst, 1));
        JumpTo(join);
        StartBlock(whenFalse);
        Emit(new ConstInstr(dst, 0));
        JumpTo(join);
        StartBlock(join);
        return Operand.Reg(dst);
    }

    private Operand EmitTernary(IConditionalOperation conditional)
    {
        var dst = _function.NewRegister();
        var whenTrue = _function.NewBlockDetached();
        var whenFalse = _function.NewBlockDetached();
        var join = _function.NewBlockDetached();
        EmitBranch(conditional.Condition, whenTrue, whenFalse);
        StartBlock(whenTrue);
        Assign(dst, Eval(conditional.WhenTrue));
        JumpTo(join);
        StartBlock(whenFalse);
        Assign(dst, Eval(conditional.WhenFalse!));
        JumpTo(join);
        StartBlock(join);
        return Operand.Reg(dst);
    }
}

using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Diagnostics;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Frontend;

internal sealed partial class MethodLowering
{
    /// <summary>Where break and continue go: the blocks of the enclosing loops' and switches' labels.</summary>
    private readonly Dictionary<ILabelSymbol, IrBlock> _labels = new(SymbolEqualityComparer.Default);

    // Loops are emitted as loops: the kernel (since 5.3) verifies bounded loops by walking their iterations, and
    // rejects a loop it cannot prove terminates — its answer, at the C# line, is the one that counts.

    private const int MaxUnroll = 64;
    private const string UnrollAttribute = "XdpCompiler.UnrollAttribute";

    private void EmitFor(IForLoopOperation loop)
    {
        foreach (var before in loop.Before)
            EmitStatement(before);
        if (UnrollRequested() && TripValues(loop) is { } trip)
        {
            EmitUnrolled(loop, trip.Counter, trip.Values, trip.Final);
            return;
        }

        var condition = _function.NewBlockDetached();
        var body = _function.NewBlockDetached();
        var next = _function.NewBlockDetached();
        var exit = _function.NewBlockDetached();
        _labels[loop.ContinueLabel] = next;
        _labels[loop.ExitLabel] = exit;

        JumpTo(condition);
        StartBlock(condition);
        if (loop.Condition is { } test)
            EmitBranch(test, body, exit);
        else
            JumpTo(body);
        StartBlock(body);
        EmitStatement(loop.Body);
        JumpTo(next);
        StartBlock(next);
        foreach (var step in loop.AtLoopBottom)
            EmitStatement(step);
        JumpTo(condition);
        StartBlock(exit);
    }

    /// <summary>[Unroll] on the program or on the inlined method the loop is in.</summary>
    private bool UnrollRequested()
    {
        var method = _frames.Count > 0 ? _frames.Peek().Method : _method;
        return method.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == UnrollAttribute);
    }

    private void EmitUnrolled(IForLoopOperation loop, ILocalSymbol counter, IReadOnlyList<long> values, long final)
    {
        var exit = _function.NewBlockDetached();
        _labels[loop.ExitLabel] = exit;
        foreach (var value in values)
        {
            var next = _function.NewBlockDetached();
            _labels[loop.ContinueLabel] = next;
            SetCounter(counter, value);
            EmitStatement(loop.Body);
            JumpTo(next);
            StartBlock(next);
        }

        SetCounter(counter, final);
        JumpTo(exit);
        StartBlock(exit);
    }

    private void SetCounter(ILocalSymbol counter, long value)
    {
        TypeLayout.TryGetScalar(Resolve(counter.Type), out var scalar);
        var canonical = scalar.Size <= 4 ? value & 0xFFFF_FFFFL : value;
        if (_locals.TryGetValue(counter, out var register))
            Assign(register, Operand.Imm(canonical));
        else if (_stackLocals.TryGetValue(counter, out var slot))
            Store(new Address(Reg.R10, slot), scalar, Operand.Imm(canonical), counter.DeclaringSyntaxReferences[0].GetSyntax());
    }

    /// <summary>
    /// The counter values of "for (i = a; i OP b; i += c)" with constants a, b, c and a body that never assigns i,
    /// computed with the counter type's wrapping; null for any other loop or more than <see cref="MaxUnroll"/> trips.
    /// </summary>
    private (ILocalSymbol Counter, List<long> Values, long Final)? TripValues(IForLoopOperation loop)
    {
        if (loop.Condition is not IBinaryOperation { LeftOperand: ILocalReferenceOperation { Local: var counter } } condition ||
            condition.RightOperand.ConstantValue is not { HasValue: true, Value: { } limitValue } ||
            !TypeLayout.TryGetScalar(Resolve(counter.Type), out var type) || type.IsPointer)
        {
            return null;
        }

        long? start = null;
        foreach (var before in loop.Before)
        {
            if (before is IExpressionStatementOperation { Operation: ISimpleAssignmentOperation { Target: ILocalReferenceOperation assigned, Value.ConstantValue: { HasValue: true, Value: { } initial } } } &&
                SymbolEqualityComparer.Default.Equals(assigned.Local, counter))
            {
                start = System.Convert.ToInt64(initial);
            }

            if (before is IVariableDeclarationGroupOperation group)
            {
                foreach (var declarator in group.Declarations.SelectMany(d => d.Declarators))
                {
                    if (SymbolEqualityComparer.Default.Equals(declarator.Symbol, counter) && declarator.Initializer?.Value.ConstantValue is { HasValue: true, Value: { } v })
                        start = System.Convert.ToInt64(v);
                }
            }
        }

        if (start is null || loop.AtLoopBottom.Length != 1)
            return null;
        long step = loop.AtLoopBottom[0] switch
        {
            IExpressionStatementOperation { Operation: IIncrementOrDecrementOperation { Target: ILocalReferenceOperation l } inc }
                when SymbolEqualityComparer.Default.Equals(l.Local, counter) => inc.Kind == OperationKind.Increment ? 1 : -1,
            IExpressionStatementOperation { Operation: ICompoundAssignmentOperation { Target: ILocalReferenceOperation l, OperatorKind: var kind, Value.ConstantValue: { HasValue: true, Value: { } d } } }
                when SymbolEqualityComparer.Default.Equals(l.Local, counter) && kind is BinaryOperatorKind.Add or BinaryOperatorKind.Subtract =>
                kind == BinaryOperatorKind.Add ? System.Convert.ToInt64(d) : -System.Convert.ToInt64(d),
            _ => 0,
        };
        if (step == 0 || loop.Body.Descendants().Any(o => Assigns(o, counter)))
            return null;

        var limit = System.Convert.ToInt64(limitValue);
        var values = new List<long>();
        var value = start.Value;
        bool Holds(long v) => condition.OperatorKind switch
        {
            BinaryOperatorKind.LessThan => v < limit,
            BinaryOperatorKind.LessThanOrEqual => v <= limit,
            BinaryOperatorKind.GreaterThan => v > limit,
            BinaryOperatorKind.GreaterThanOrEqual => v >= limit,
            BinaryOperatorKind.NotEquals => v != limit,
            _ => false,
        };
        while (Holds(value))
        {
            if (values.Count == MaxUnroll)
                return null;
            values.Add(value);
            value = Wrap(value + step, type);
        }

        return (counter, values, value);
    }

    private static long Wrap(long value, Scalar type) => type.Size switch
    {
        1 => type.Signed ? (sbyte)value : (byte)value,
        2 => type.Signed ? (short)value : (ushort)value,
        4 => type.Signed ? (int)value : (uint)value,
        _ => value,
    };

    private static bool Assigns(IOperation operation, ILocalSymbol local)
    {
        var target = operation switch
        {
            IAssignmentOperation assignment => assignment.Target,
            IIncrementOrDecrementOperation increment => increment.Target,
            IAddressOfOperation address => address.Reference,
            IArgumentOperation { Parameter.RefKind: not RefKind.None } argument => argument.Value,
            _ => null,
        };
        return target is ILocalReferenceOperation l && SymbolEqualityComparer.Default.Equals(l.Local, local);
    }

    private void EmitWhile(IWhileLoopOperation loop)
    {
        var condition = _function.NewBlockDetached();
        var body = _function.NewBlockDetached();
        var exit = _function.NewBlockDetached();
        _labels[loop.ContinueLabel] = condition;
        _labels[loop.ExitLabel] = exit;

        JumpTo(loop.ConditionIsTop ? condition : body);
        if (loop.ConditionIsTop)
        {
            StartBlock(condition);
            EmitLoopCondition(loop, body, exit);
            StartBlock(body);
            EmitStatement(loop.Body);
            JumpTo(condition);
        }
        else
        {
            StartBlock(body);
            EmitStatement(loop.Body);
            JumpTo(condition);
            StartBlock(condition);
            EmitLoopCondition(loop, body, exit);
        }

        StartBlock(exit);
    }

    private void EmitLoopCondition(IWhileLoopOperation loop, IrBlock body, IrBlock exit)
    {
        if (loop.Condition is null)
            JumpTo(body);
        else if (loop.ConditionIsUntil)
            EmitBranch(loop.Condition, exit, body);
        else
            EmitBranch(loop.Condition, body, exit);
    }

    private void EmitBranchStatement(IBranchOperation branch)
    {
        if (branch.BranchKind is BranchKind.Break or BranchKind.Continue && _labels.TryGetValue(branch.Target, out var target))
        {
            Terminate(new JumpTerm(target));
            return;
        }

        Report(DiagnosticCatalog.UnsupportedConstruct, branch.Syntax, $"'{branch.Syntax}'", "use if/else, break, continue or return instead of goto");
    }

    // ---- switch ----

    private void EmitSwitch(ISwitchOperation switchOperation)
    {
        if (!CheckScalar(switchOperation.Value.Type!, switchOperation.Value.Syntax, out var type))
            return;
        var value = Eval(switchOperation.Value);
        var exit = _function.NewBlockDetached();
        _labels[switchOperation.ExitLabel] = exit;

        var bodies = switchOperation.Cases.Select(_ => _function.NewBlockDetached()).ToList();
        IrBlock? defaultBody = null;
        for (var i = 0; i < switchOperation.Cases.Length; i++)
        {
            foreach (var clause in switchOperation.Cases[i].Clauses)
            {
                switch (clause)
                {
                    case IDefaultCaseClauseOperation:
                        defaultBody = bodies[i];
                        break;
                    case ISingleValueCaseClauseOperation single:
                        EmitPatternTest(single.Value, value, type, bodies[i]);
                        break;
                    case IPatternCaseClauseOperation { Guard: null } pattern:
                        EmitPattern(pattern.Pattern, value, type, bodies[i]);
                        break;
                    default:
                        Report(DiagnosticCatalog.UnsupportedConstruct, clause.Syntax, $"The case '{clause.Syntax}'", "use constant or relational patterns without 'when'");
                        break;
                }
            }
        }

        JumpTo(defaultBody ?? exit);
        for (var i = 0; i < switchOperation.Cases.Length; i++)
        {
            StartBlock(bodies[i]);
            foreach (var statement in switchOperation.Cases[i].Body)
                EmitStatement(statement);
            JumpTo(exit);
        }

        StartBlock(exit);
    }

    private Operand EmitSwitchExpression(ISwitchExpressionOperation switchExpression)
    {
        if (!CheckScalar(switchExpression.Value.Type!, switchExpression.Value.Syntax, out var type) ||
            !CheckScalar(switchExpression.Type!, switchExpression.Syntax, out _))
        {
            return Operand.Imm(0);
        }

        if (!switchExpression.Arms.Any(a => a.Pattern is IDiscardPatternOperation && a.Guard is null))
        {
            return Fail(DiagnosticCatalog.UnsupportedConstruct, switchExpression.Syntax, "A switch expression without a '_' arm",
                "C# throws when no arm matches, and eBPF cannot; add '_ => …'");
        }

        var value = Eval(switchExpression.Value);
        var result = _function.NewRegister();
        var join = _function.NewBlockDetached();
        foreach (var arm in switchExpression.Arms)
        {
            var matched = _function.NewBlockDetached();
            var next = _function.NewBlockDetached();
            if (arm.Guard is not null)
            {
                var guarded = _function.NewBlockDetached();
                EmitPattern(arm.Pattern, value, type, guarded);
                JumpTo(next);
                StartBlock(guarded);
                EmitBranch(arm.Guard, matched, next);
            }
            else
            {
                EmitPattern(arm.Pattern, value, type, matched);
                JumpTo(next);
            }

            StartBlock(matched);
            Assign(result, Eval(arm.Value));
            JumpTo(join);
            StartBlock(next);
        }

        // Unreachable: the discard arm always matches.
        JumpTo(join);
        StartBlock(join);
        return Operand.Reg(result);
    }

    private Operand EmitIsPattern(IIsPatternOperation isPattern)
    {
        var dst = _function.NewRegister();
        var yes = _function.NewBlockDetached();
        var no = _function.NewBlockDetached();
        var join = _function.NewBlockDetached();
        EmitIsPatternBranch(isPattern, yes, no);
        StartBlock(yes);
        Emit(new ConstInstr(dst, 1));
        JumpTo(join);
        StartBlock(no);
        Emit(new ConstInstr(dst, 0));
        JumpTo(join);
        StartBlock(join);
        return Operand.Reg(dst);
    }

    private void EmitIsPatternBranch(IIsPatternOperation isPattern, IrBlock whenTrue, IrBlock whenFalse)
    {
        if (!CheckScalar(isPattern.Value.Type!, isPattern.Value.Syntax, out var type))
        {
            JumpTo(whenFalse);
            return;
        }

        EmitPattern(isPattern.Pattern, Eval(isPattern.Value), type, whenTrue);
        JumpTo(whenFalse);
    }

    /// <summary>
    /// Branches to <paramref name="matched"/> when the pattern matches and falls through (in a new block) when it does
    /// not; the caller decides where a mismatch goes.
    /// </summary>
    private void EmitPattern(IPatternOperation pattern, Operand value, Scalar type, IrBlock matched)
    {
        switch (pattern)
        {
            case IDiscardPatternOperation:
                JumpTo(matched);
                StartBlock(_function.NewBlockDetached());
                return;
            case IConstantPatternOperation constant:
                EmitPatternTest(constant.Value, value, type, matched);
                return;
            case IRelationalPatternOperation relational:
                EmitCompareTo(relational.OperatorKind, value, type, Eval(relational.Value), matched);
                return;
            case INegatedPatternOperation negated:
            {
                var inner = _function.NewBlockDetached();
                EmitPattern(negated.Pattern, value, type, inner);
                JumpTo(matched);
                // A match of the inner pattern is this pattern's mismatch: the caller's fall-through continues there.
                StartBlock(inner);
                return;
            }
            case IBinaryPatternOperation { OperatorKind: BinaryOperatorKind.Or } or:
                EmitPattern(or.LeftPattern, value, type, matched);
                EmitPattern(or.RightPattern, value, type, matched);
                return;
            case IBinaryPatternOperation { OperatorKind: BinaryOperatorKind.And } and:
            {
                var right = _function.NewBlockDetached();
                var fail = _function.NewBlockDetached();
                EmitPattern(and.LeftPattern, value, type, right);
                JumpTo(fail);
                StartBlock(right);
                EmitPattern(and.RightPattern, value, type, matched);
                JumpTo(fail);
                StartBlock(fail);
                return;
            }
            default:
                Report(DiagnosticCatalog.UnsupportedConstruct, pattern.Syntax, $"The pattern '{pattern.Syntax}'",
                    "use constant, relational, 'not', 'and', 'or' or '_' patterns");
                return;
        }
    }

    private void EmitPatternTest(IOperation constant, Operand value, Scalar type, IrBlock matched) =>
        EmitCompareTo(BinaryOperatorKind.Equals, value, type, Eval(constant), matched);

    /// <summary>if (value op right) goto matched; otherwise continue in a new block.</summary>
    private void EmitCompareTo(BinaryOperatorKind kind, Operand value, Scalar type, Operand right, IrBlock matched)
    {
        var condition = ConditionFor(kind, type.Signed && !type.IsPointer);
        var otherwise = _function.NewBlockDetached();
        if (value.IsImmediate && right.IsImmediate)
            JumpTo(condition.Evaluate(type.Width, value.Immediate, right.Immediate) ? matched : otherwise);
        else if (value.IsImmediate)
            BranchTo(new BranchTerm(condition.Swap(), type.Width, right.Register, FitImmediate(value, type.Width), matched, otherwise));
        else
            BranchTo(new BranchTerm(condition, type.Width, value.Register, FitImmediate(right, type.Width), matched, otherwise));
        StartBlock(otherwise);
    }
}

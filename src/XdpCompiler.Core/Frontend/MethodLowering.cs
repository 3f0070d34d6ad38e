using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Diagnostics;
using XdpCompiler.Core.IR;
using XdpCompiler.Core.Pipeline;

namespace XdpCompiler.Core.Frontend;

/// <summary>
/// Lowers one XDP method's IOperation tree to IR. Anything it cannot lower is reported at the exact span and replaced
/// by a harmless value, so one pass finds every problem in the method.
/// </summary>
internal sealed partial class MethodLowering
{
    private readonly IMethodSymbol _method;
    private readonly Compilation _compilation;
    private readonly string _section;
    private readonly string _license;
    private readonly CompilerOptions _options;
    private readonly IReadOnlyDictionary<string, GlobalSpec> _globals;
    private readonly TypeLayout _layout;
    private readonly IReadOnlyDictionary<string, MapSpec> _maps;
    private readonly List<XdpDiagnostic> _diagnostics;
    private readonly IrFunction _function;
    private readonly Dictionary<ILocalSymbol, int> _locals = new(SymbolEqualityComparer.Default);
    private readonly Dictionary<IParameterSymbol, int> _parameters = new(SymbolEqualityComparer.Default);
    private readonly HashSet<IParameterSymbol> _contextParameters = new(SymbolEqualityComparer.Default);
    private readonly Stack<InlineFrame> _frames = new();
    private readonly HashSet<string> _usedMaps = new(StringComparer.Ordinal);
    private IrBlock _current;
    private int _context;
    private SourceSpan? _source;

    /// <summary>The invocation a program-level <c>return</c> is about to evaluate: the only place a tail call may be.</summary>
    private IOperation? _returnedInvocation;

    public MethodLowering(IMethodSymbol method, string name, string section, string license, CompilerOptions options, Compilation compilation, TypeLayout layout,
        IReadOnlyDictionary<string, MapSpec> maps, IReadOnlyDictionary<string, GlobalSpec> globals, List<XdpDiagnostic> diagnostics)
    {
        _license = license;
        _globals = globals;
        _options = options;
        _section = section;
        _method = method;
        _compilation = compilation;
        // A program's first parameter is its context; an out-of-line method's are mapped in LowerSubprogram.
        if (method.Parameters.Length > 0)
            _contextParameters.Add(method.Parameters[0]);
        _layout = layout;
        _maps = maps;
        _diagnostics = diagnostics;
        _function = new IrFunction(name);
        _current = StartBlock(_function.NewBlockDetached());
    }

    public IReadOnlyCollection<string> UsedMaps => _usedMaps;

    public IrFunction Lower(IOperation body)
    {
        _context = _function.NewRegister();
        Emit(new MovInstr(_context, Reg.R1, Width.W64));
        ScanAddressTaken(body);
        EmitStatement(body);
        if (_current.Terminator is null)
        {
            // C# guarantees every reachable path returns; an open block here is the dead one after the last return.
            _current.Terminator = new ExitTerm();
            Emit(new ConstInstr(Reg.R0, (long)2));
        }

        _function.RemoveUnreachableBlocks();
        CheckDivisors();
        return _function;
    }

    // ---- statements ----

    private void EmitStatement(IOperation operation)
    {
        _source = Locations.Of(operation.Syntax);
        switch (operation)
        {
            case IMethodBodyOperation body:
                EmitStatement((IOperation?)body.BlockBody ?? body.ExpressionBody!);
                break;
            case IBlockOperation block:
                foreach (var statement in block.Operations)
                    EmitStatement(statement);
                break;
            case IVariableDeclarationGroupOperation group:
                foreach (var declaration in group.Declarations)
                {
                    foreach (var declarator in declaration.Declarators)
                    {
                        var initializer = declarator.Initializer ?? declaration.Initializer;
                        if (TryDeclareStackLocal(declarator.Symbol, initializer?.Value, declarator.Syntax))
                            continue;
                        if (!TypeLayout.TryGetScalar(Resolve(declarator.Symbol.Type), out _))
                        {
                            // The initializer usually is the real problem ("new object()", a string literal, a
                            // lambda); only a local whose initializer is fine gets blamed for its type.
                            var before = _diagnostics.Count;
                            if (initializer is not null)
                                Eval(initializer.Value);
                            if (_diagnostics.Count == before)
                                DeclareLocal(declarator.Symbol, declarator.Syntax);
                            continue;
                        }

                        var register = DeclareLocal(declarator.Symbol, declarator.Syntax)!.Value;
                        if (initializer is not null)
                            Assign(register, Eval(initializer.Value));
                    }
                }
                break;
            case IExpressionStatementOperation statement:
                EmitEffect(statement.Operation);
                break;
            case IConditionalOperation conditional:
                EmitIf(conditional);
                break;
            case IReturnOperation ret when _frames.Count > 0:
                var frame = _frames.Peek();
                if (ret.ReturnedValue is { } returned && frame.Result is { } resultRegister)
                    Assign(resultRegister, Eval(returned));
                else if (ret.ReturnedValue is { } returnedStruct && frame.StructResult is { } destination)
                    StoreStruct(returnedStruct, destination, frame.StructType!, ret.Syntax);
                Terminate(new JumpTerm(frame.ReturnBlock));
                break;
            case IReturnOperation { ReturnedValue: null }:
                // "return;" in an out-of-line void method: R0 is still set, so the caller never reads an unset register.
                Emit(new ConstInstr(Reg.R0, 0));
                Terminate(new ExitTerm());
                break;
            case IReturnOperation ret when ret.ReturnedValue is { } value:
                var invoked = value;
                while (invoked is IConversionOperation conversion)
                    invoked = conversion.Operand;
                _returnedInvocation = invoked as IInvocationOperation;
                var result = Eval(value);
                _returnedInvocation = null;
                if (result.IsImmediate)
                    Emit(new ConstInstr(Reg.R0, result.Immediate));
                else
                    Emit(new MovInstr(Reg.R0, result.Register, Width.W64));
                Terminate(new ExitTerm());
                break;
            case IEmptyOperation:
            case IInvalidOperation:
                break;
            case ITryOperation:
                Report(DiagnosticCatalog.ExceptionHandling, operation.Syntax, "try");
                break;
            case IThrowOperation:
                Report(DiagnosticCatalog.ExceptionHandling, operation.Syntax, "throw");
                break;
            case IForLoopOperation forLoop:
                EmitFor(forLoop);
                break;
            case IWhileLoopOperation whileLoop:
                EmitWhile(whileLoop);
                break;
            case ILoopOperation:
                Report(DiagnosticCatalog.UnsupportedConstruct, operation.Syntax, "A foreach loop", "there is nothing to enumerate in eBPF; use a for loop with a constant bound");
                break;
            case IBranchOperation branch:
                EmitBranchStatement(branch);
                break;
            case ISwitchOperation switchOperation:
                EmitSwitch(switchOperation);
                break;
            case ILocalFunctionOperation:
                Report(DiagnosticCatalog.UnsupportedConstruct, operation.Syntax, "A local function", "declare a static method instead");
                break;
            default:
                Report(DiagnosticCatalog.UnsupportedConstruct, operation.Syntax, Describe(operation), "this statement has no eBPF lowering");
                break;
        }
    }

    private void EmitIf(IConditionalOperation conditional)
    {
        var whenTrue = _function.NewBlockDetached();
        var join = _function.NewBlockDetached();
        var whenFalse = conditional.WhenFalse is null ? join : _function.NewBlockDetached();
        EmitBranch(conditional.Condition, whenTrue, whenFalse);

        StartBlock(whenTrue);
        EmitStatement(conditional.WhenTrue);
        JumpTo(join);
        if (conditional.WhenFalse is { } otherwise)
        {
            StartBlock(whenFalse);
            EmitStatement(otherwise);
            JumpTo(join);
        }

        StartBlock(join);
    }

    /// <summary>An expression evaluated for its side effects only (lets atomics skip fetching the old value).</summary>
    private void EmitEffect(IOperation operation)
    {
        switch (operation)
        {
            case IInvocationOperation invocation:
                EmitInvocation(invocation, resultUsed: false);
                break;
            case IIncrementOrDecrementOperation increment:
                EmitIncrement(increment, resultUsed: false);
                break;
            default:
                Eval(operation);
                break;
        }
    }

    private int? DeclareLocal(ILocalSymbol local, SyntaxNode syntax)
    {
        if (!CheckScalar(local.Type, syntax, out _))
            return null;
        var register = _function.NewRegister();
        _locals[local] = register;
        return register;
    }

    // ---- expressions ----

    /// <summary>Evaluates an expression to a register or a constant holding its canonical value.</summary>
    private Operand Eval(IOperation operation)
    {
        if (operation.Type is { } type)
        {
            if (type.SpecialType == SpecialType.System_String)
                return Fail(DiagnosticCatalog.StringUse, operation.Syntax, operation.Syntax.ToString());
            if (TypeLayout.IsFloatingPoint(type))
                return Fail(DiagnosticCatalog.FloatingPoint, operation.Syntax, type.ToDisplayString());
        }

        if (operation.ConstantValue is { HasValue: true } constant)
            return Operand.Imm(Canonical(constant.Value, operation.Type));

        if (operation is IBinaryOperation { IsChecked: true } or IConversionOperation { IsChecked: true }
            or IIncrementOrDecrementOperation { IsChecked: true } or ICompoundAssignmentOperation { IsChecked: true })
        {
            return Fail(DiagnosticCatalog.UnsupportedConstruct, operation.Syntax, $"Checked arithmetic '{Shorten(operation.Syntax.ToString())}'",
                "C# throws OverflowException where eBPF would wrap; use unchecked arithmetic and test the bounds yourself");
        }

        switch (operation)
        {
            case ILocalReferenceOperation local when _stackLocals.ContainsKey(local.Local):
                return LoadFrom(local, local.Type!);
            case IParameterReferenceOperation parameter when _memoryParameters.ContainsKey(parameter.Parameter.OriginalDefinition):
                return LoadFrom(parameter, parameter.Type!);
            case IAddressOfOperation addressOf:
                return EmitAddress(addressOf.Reference) is { } address ? AddressToValue(address) : Operand.Imm(0);
            case { Kind: OperationKind.None } when IsStackAlloc(operation):
                return EmitStackAlloc(operation);
            case ILocalReferenceOperation local:
                return _locals.TryGetValue(local.Local, out var register)
                    ? Operand.Reg(register)
                    : Fail(DiagnosticCatalog.UnsupportedType, operation.Syntax, local.Local.Type.ToDisplayString(), "only scalar and pointer locals are supported");
            case IParameterReferenceOperation parameter when _parameters.TryGetValue(parameter.Parameter, out var value):
                return Operand.Reg(value);
            case IParameterReferenceOperation:
                return Fail(DiagnosticCatalog.UnsupportedConstruct, operation.Syntax, "Using the context as a value", "read its properties (Data, DataEnd, …) or pass it to a method");
            case IConversionOperation conversion:
                return EmitConversion(conversion);
            case IBinaryOperation binary:
                return EmitBinary(binary);
            case IUnaryOperation unary:
                return EmitUnary(unary);
            case IConditionalOperation conditional:
                return EmitTernary(conditional);
            case ISwitchExpressionOperation switchExpression:
                return EmitSwitchExpression(switchExpression);
            case IIsPatternOperation isPattern:
                return EmitIsPattern(isPattern);
            case IPropertyReferenceOperation property:
                return EmitProperty(property);
            case IFieldReferenceOperation { Field.IsFixedSizeBuffer: true } fixedBuffer:
                return AddressValue(fixedBuffer);
            case IFieldReferenceOperation { Instance: not null } field:
                return LoadFrom(field, field.Type!);
            case IFieldReferenceOperation { Instance: null } global when IsGlobal(global.Field):
                return LoadFrom(global, global.Type!);
            case IFieldReferenceOperation { Field: { IsStatic: true, IsReadOnly: true } } field when !GlobalCatalog.IsConfig(field.Field) && ReadOnlyFieldValue(field.Field) is { } value:
                return Operand.Imm(Canonical(value, field.Type));
            case IFieldReferenceOperation field:
                return Fail(DiagnosticCatalog.UnsupportedConstruct, operation.Syntax, $"Reading static field '{field.Field.Name}'",
                    "only constants and 'static readonly' fields initialised with a constant can be read");
            case { Kind: OperationKind.None } when IsDereference(operation):
                return LoadFrom(operation, operation.Type!);
            case ISimpleAssignmentOperation assignment:
                return EmitAssignment(assignment);
            case ICompoundAssignmentOperation compound:
                return EmitCompoundAssignment(compound);
            case IIncrementOrDecrementOperation increment:
                return EmitIncrement(increment, resultUsed: true);
            case IInvocationOperation invocation:
                return EmitInvocation(invocation, resultUsed: true);
            case IDefaultValueOperation when operation.Type is { } defaultType && TypeLayout.TryGetScalar(Resolve(defaultType), out _):
                return Operand.Imm(0);
            case ISizeOfOperation sizeOf:
                return _layout.SizeOf(Resolve(sizeOf.TypeOperand)) is { } size
                    ? Operand.Imm(size)
                    : Fail(DiagnosticCatalog.UnsupportedType, operation.Syntax, sizeOf.TypeOperand.ToDisplayString(), "it has no fixed unmanaged layout");
            case IDelegateCreationOperation { Target: IAnonymousFunctionOperation }:
            case IAnonymousFunctionOperation:
                return Fail(DiagnosticCatalog.UnsupportedConstruct, operation.Syntax, "A lambda", "eBPF has no closures or delegates");
            case IObjectCreationOperation or IArrayCreationOperation or IAnonymousObjectCreationOperation
                or IDelegateCreationOperation or ITypeParameterObjectCreationOperation or IDynamicObjectCreationOperation:
                return Fail(DiagnosticCatalog.Allocation, operation.Syntax, operation.Syntax.ToString());
            case IInterpolatedStringOperation:
                return Fail(DiagnosticCatalog.StringUse, operation.Syntax, operation.Syntax.ToString());
            case IThrowOperation:
                return Fail(DiagnosticCatalog.ExceptionHandling, operation.Syntax, "throw");
            case IInvalidOperation:
                return Operand.Imm(0);
            default:
                return Fail(DiagnosticCatalog.UnsupportedConstruct, operation.Syntax, Describe(operation), "this expression has no eBPF lowering");
        }
    }

    private int EvalToRegister(IOperation operation) => ToRegister(Eval(operation));

    /// <summary>
    /// The constant a <c>static readonly</c> scalar field is initialised with, so it compiles to an immediate (the
    /// value is fixed when the assembly is built, as it is for the .NET run).
    /// </summary>
    private object? ReadOnlyFieldValue(IFieldSymbol field)
    {
        // A static constructor could assign it later; then the initializer is not the value.
        if (!TypeLayout.TryGetScalar(field.Type, out _) || field.ContainingType.StaticConstructors.Any(c => !c.IsImplicitlyDeclared))
            return null;
        foreach (var reference in field.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax() is VariableDeclaratorSyntax { Initializer: { } initializer })
            {
                // GetConstantValue sees through parentheses and unchecked(...), which have no operation of their own.
                var constant = _compilation.GetSemanticModel(initializer.SyntaxTree).GetConstantValue(initializer.Value);
                if (constant.HasValue)
                    return constant.Value ?? 0;
            }
        }

        return null;
    }

    /// <summary>The register of a local or (inlined) parameter the operation names, if it is one.</summary>
    private bool TryGetVariable(IOperation operation, out int register)
    {
        switch (operation)
        {
            case ILocalReferenceOperation local when _locals.TryGetValue(local.Local, out register):
                return true;
            case IParameterReferenceOperation parameter when _parameters.TryGetValue(parameter.Parameter, out register):
                return true;
            default:
                register = -1;
                return false;
        }
    }

    /// <summary>A local or parameter that lives in a register (stack-backed locals go through memory).</summary>
    private bool IsVariable(IOperation operation) => operation switch
    {
        ILocalReferenceOperation local => !_stackLocals.ContainsKey(local.Local),
        IParameterReferenceOperation parameter => !_memoryParameters.ContainsKey(parameter.Parameter.OriginalDefinition),
        _ => false,
    };

    private int ToRegister(Operand operand)
    {
        if (!operand.IsImmediate)
            return operand.Register;
        var register = _function.NewRegister();
        Emit(new ConstInstr(register, operand.Immediate));
        return register;
    }

    private void Assign(int target, Operand value)
    {
        if (value.IsImmediate)
            Emit(new ConstInstr(target, value.Immediate));
        else if (value.Register != target)
            Emit(new MovInstr(target, value.Register, Width.W64));
    }

    /// <summary>
    /// The register form of a constant of a C# type: values of 4 bytes or less are zero-extended 32-bit patterns
    /// (an int -1 is 0xFFFFFFFF), 8-byte values are the full 64 bits.
    /// </summary>
    private static long Canonical(object? value, ITypeSymbol? type)
    {
        long raw = value switch
        {
            null => 0,
            bool b => b ? 1 : 0,
            char c => c,
            ulong u => unchecked((long)u),
            IConvertible convertible => convertible.ToInt64(null),
            _ => 0,
        };
        if (type is not null && TypeLayout.TryGetScalar(type, out var scalar) && scalar.Size <= 4)
            return raw & 0xFFFF_FFFFL;
        return raw;
    }

    private bool CheckScalar(ITypeSymbol type, SyntaxNode syntax, out Scalar scalar)
    {
        type = Resolve(type);
        if (TypeLayout.TryGetScalar(type, out scalar))
            return true;
        // The C# compiler already reports code that does not bind; a second error about it would only be noise.
        if (type.TypeKind == TypeKind.Error)
            return false;
        if (TypeLayout.IsFloatingPoint(type))
            Report(DiagnosticCatalog.FloatingPoint, syntax, type.ToDisplayString());
        else if (type.SpecialType == SpecialType.System_String)
            Report(DiagnosticCatalog.StringUse, syntax, syntax.ToString());
        else
            Report(DiagnosticCatalog.UnsupportedType, syntax, type.ToDisplayString(), "only integers, bool, enums and pointers are supported here");
        return false;
    }

    /// <summary>The operand's scalar type; a non-scalar is reported and stands in as int so lowering can go on.</summary>
    private Scalar ScalarOf(IOperation operation)
    {
        if (operation.Type is { } type && CheckScalar(type, operation.Syntax, out var scalar))
            return scalar;
        return new Scalar(4, true, false, false, operation.Type!);
    }

    // ---- IR plumbing ----

    private void Emit(IrInstr instruction) => _current.Instructions.Add(instruction with { Source = _source });

    private void Terminate(Terminator terminator)
    {
        if (_current.Terminator is null)
            _current.Terminator = terminator with { Source = _source };
        // Whatever follows a return or jump is unreachable until a label starts a new block; it still gets a block
        // so that code after a return is lowered (and checked) like any other.
        StartBlock(_function.NewBlockDetached());
    }

    private void JumpTo(IrBlock target)
    {
        if (_current.Terminator is null)
            _current.Terminator = new JumpTerm(target) { Source = _source };
    }

    private IrBlock StartBlock(IrBlock block)
    {
        _function.Blocks.Add(block);
        _current = block;
        return block;
    }

    private Operand Fail(DiagnosticDescriptorInfo entry, SyntaxNode syntax, params object[] args)
    {
        Report(entry, syntax, args);
        return Operand.Imm(0);
    }

    private void Report(DiagnosticDescriptorInfo entry, SyntaxNode syntax, params object[] args) =>
        _diagnostics.Add(XdpDiagnostic.Create(entry, Locations.Of(syntax), args));

    private static string Describe(IOperation operation) => operation.Kind == OperationKind.None
        ? $"'{operation.Syntax}'"
        : $"{SplitWords(operation.Kind.ToString())} '{Shorten(operation.Syntax.ToString())}'";

    private static string Shorten(string text)
    {
        var firstLine = text.Split('\n')[0].Trim();
        return firstLine.Length > 60 ? firstLine.Substring(0, 57) + "..." : firstLine;
    }

    private static string SplitWords(string name)
    {
        var chars = new List<char>();
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]))
                chars.Add(' ');
            chars.Add(i == 0 ? name[i] : char.ToLowerInvariant(name[i]));
        }

        return new string(chars.ToArray());
    }

    // Roslyn has no public IOperation for pointer indirection or pointer element access: both come as None.
    private static bool IsDereference(IOperation operation) =>
        IsPointerDereference(operation) || operation.Syntax is ElementAccessExpressionSyntax;

    private static bool IsPointerDereference(IOperation operation) =>
        operation.Kind == OperationKind.None && operation.ChildOperations.Count == 1 &&
        operation.ChildOperations.First().Type is IPointerTypeSymbol && operation.Syntax is not ElementAccessExpressionSyntax;
}

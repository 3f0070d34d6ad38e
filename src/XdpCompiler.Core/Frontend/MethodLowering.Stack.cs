using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Diagnostics;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Frontend;

// Locals that need memory: structs, scalars whose address is taken, and stackalloc buffers live in stack slots
// below R10. Everything else stays in registers.
internal sealed partial class MethodLowering
{
    private readonly Dictionary<ILocalSymbol, short> _stackLocals = new(SymbolEqualityComparer.Default);

    /// <summary>
    /// Parameters of inlined methods that name memory: a struct passed by value (copied into its own stack slot, as C#
    /// copies it) and any ref/in/out parameter (the caller's location itself, so writes reach the caller).
    /// </summary>
    private readonly Dictionary<IParameterSymbol, Address> _memoryParameters = new(SymbolEqualityComparer.Default);
    private readonly HashSet<ILocalSymbol> _addressTaken = new(SymbolEqualityComparer.Default);
    private readonly Dictionary<ITypeParameterSymbol, ITypeSymbol> _typeArguments = new(SymbolEqualityComparer.Default);

    /// <summary>The struct an object initializer ("new P { A = 1 }") is filling, for its implicit receiver.</summary>
    private Address? _initializerTarget;

    /// <summary>Finds the locals of a body whose address is taken, so they get a stack slot instead of a register.</summary>
    private void ScanAddressTaken(IOperation body)
    {
        foreach (var operation in body.Descendants())
        {
            if (operation is IAddressOfOperation { Reference: ILocalReferenceOperation local })
                _addressTaken.Add(local.Local);
            // Passing a local by ref (to an inlined method, or to Unsafe.AsPointer) takes its address too. Interlocked
            // works on the location itself and keeps its own rule.
            if (operation is IArgumentOperation { Parameter.RefKind: not RefKind.None } argument
                && (argument.Value as ILocalReferenceOperation ?? (argument.Value as IDeclarationExpressionOperation)?.Expression as ILocalReferenceOperation) is { } refLocal
                && argument.Parent is IInvocationOperation { TargetMethod: { } target }
                && (target.ContainingType?.ToDisplayString() == UnsafeType || FindBody(target) is not null))
            {
                _addressTaken.Add(refLocal.Local);
            }
        }
    }

    /// <summary>Gives a struct or address-taken local its zero-filled or initialised stack slot; false for register locals.</summary>
    private bool TryDeclareStackLocal(ILocalSymbol local, IOperation? initializer, SyntaxNode syntax)
    {
        var type = Resolve(local.Type);
        var isStruct = _layout.GetStruct(type) is not null && !TypeLayout.TryGetScalar(type, out _);
        if (!isStruct && !(_addressTaken.Contains(local) && TypeLayout.TryGetScalar(type, out _)))
            return false;

        var size = _layout.SizeOf(type)!.Value;
        var slot = new Address(Reg.R10, _function.AllocateStack((size + 7) & ~7, 8));
        _stackLocals[local] = (short)slot.Offset;
        if (isStruct)
        {
            if (initializer is null)
                ZeroFill(slot, (size + 7) & ~7);
            else
                StoreStruct(initializer, slot, type, syntax);
        }
        else
        {
            // C# lets "&x" take the address of an unassigned local; the verifier refuses to read unwritten stack.
            TypeLayout.TryGetScalar(type, out var scalar);
            Store(slot, scalar, initializer is null ? Operand.Imm(0) : Eval(initializer), syntax);
        }

        return true;
    }

    /// <summary>Evaluates a struct-typed expression into memory at <paramref name="destination"/>.</summary>
    private void StoreStruct(IOperation value, Address destination, ITypeSymbol type, SyntaxNode syntax)
    {
        type = Resolve(type);
        var size = _layout.SizeOf(type);
        if (size is null)
        {
            Report(DiagnosticCatalog.UnsupportedType, syntax, type.ToDisplayString(), "it has no fixed unmanaged layout");
            return;
        }

        switch (value)
        {
            case IConversionOperation { OperatorMethod: null } conversion when SymbolEqualityComparer.Default.Equals(conversion.Operand.Type, type) || conversion.Operand is IDefaultValueOperation:
                StoreStruct(conversion.Operand, destination, type, syntax);
                return;
            case IDefaultValueOperation:
                ZeroFill(destination, size.Value);
                return;
            case IObjectCreationOperation creation when creation.Arguments.Length == 0 && (creation.Constructor?.IsImplicitlyDeclared ?? true):
                ZeroFill(destination, size.Value);
                if (creation.Initializer is { } initializer)
                {
                    var saved = _initializerTarget;
                    _initializerTarget = destination;
                    foreach (var assignment in initializer.Initializers)
                        EmitEffect(assignment);
                    _initializerTarget = saved;
                }

                return;
            case IInvocationOperation call when IsUnsafeRead(call.TargetMethod):
            {
                // A struct read through Unsafe is a copy out of the pointed-at memory.
                var argument = call.Arguments[0];
                var readFrom = argument.Parameter?.RefKind is RefKind.None
                    ? new Address(EvalToRegister(argument.Value), 0)
                    : EmitAddress(argument.Value);
                if (readFrom is { } from)
                    Copy(destination, from, size.Value, syntax);
                return;
            }
            case IInvocationOperation { TargetMethod.IsStatic: true } call when IsOutOfLine(call.TargetMethod) && FindBody(call.TargetMethod) is not null:
                EmitSubprogramCall(call, call.TargetMethod); // reports that a struct cannot come back in R0
                return;
            case IInvocationOperation { TargetMethod.IsStatic: true } call when FindBody(call.TargetMethod) is { } body:
                // A method returning a struct writes its return value straight into the destination.
                EmitInline(call, call.TargetMethod, body, destination);
                return;
            case IObjectCreationOperation:
                Report(DiagnosticCatalog.UnsupportedConstruct, value.Syntax, $"'{value.Syntax}'", "struct constructors are not supported; use an object initializer");
                return;
            default:
                if (EmitAddress(value) is { } source)
                    Copy(destination, source, size.Value, syntax);
                return;
        }
    }

    /// <summary>
    /// Copies <paramref name="size"/> bytes in the widest chunks both sides allow. The verifier demands aligned stack
    /// accesses, so an R10-based side is split on its offset's alignment. A side in some other register is packet or map
    /// memory (where x86 allows any alignment) or a pointer to a whole struct; <paramref name="otherAlignment"/> = 1 says
    /// it may point anywhere into the stack, so only byte accesses are safe.
    /// </summary>
    private void Copy(Address destination, Address source, int size, SyntaxNode syntax, int otherAlignment = 8)
    {
        for (var offset = 0; offset < size;)
        {
            var from = source with { Offset = source.Offset + offset };
            var to = destination with { Offset = destination.Offset + offset };
            var chunk = Chunk(size - offset, from, otherAlignment, to);
            if (!FitsOffset(from, syntax) || !FitsOffset(to, syntax))
                return;
            var temporary = _function.NewRegister();
            Emit(new LoadInstr(temporary, from.Base, (short)from.Offset, Ir.SizeForBytes(chunk)));
            Emit(new StoreInstr(to.Base, (short)to.Offset, Ir.SizeForBytes(chunk), Operand.Reg(temporary)));
            offset += chunk;
        }
    }

    /// <summary>The widest access (8, 4, 2 or 1 bytes) that fits <paramref name="remaining"/> and every address's alignment.</summary>
    private static int Chunk(int remaining, Address first, int otherAlignment, Address? second = null)
    {
        for (var chunk = 8; chunk > 1; chunk /= 2)
        {
            if (chunk <= remaining && Allows(first, chunk) && (second is not { } s || Allows(s, chunk)))
                return chunk;
        }
        return 1;

        bool Allows(Address address, int width) =>
            address.Base == Reg.R10 ? address.Offset % width == 0 : width <= otherAlignment;
    }

    /// <summary>Zeroes a stack slot or a struct at an address known to be 8-byte aligned.</summary>
    private void ZeroFill(Address destination, int size) => Fill(destination, size, 0, syntax: null, otherAlignment: 8);

    /// <summary>"stackalloc T[n]" with a constant n: a zeroed stack buffer (C# zero-initialises it too).</summary>
    private Operand EmitStackAlloc(IOperation operation)
    {
        if (Resolve(operation.Type!) is INamedTypeSymbol { Name: "Span" or "ReadOnlySpan" } span)
        {
            return Fail(DiagnosticCatalog.UnsupportedConstruct, operation.Syntax, $"'{operation.Syntax}' into a {span.ToDisplayString()}",
                "spans are not supported; take a pointer: byte* buffer = stackalloc byte[n]");
        }

        var pointee = (Resolve(operation.Type!) as IPointerTypeSymbol)?.PointedAtType;
        var count = operation.ChildOperations.FirstOrDefault()?.ConstantValue;
        if (pointee is null || _layout.SizeOf(pointee) is not { } elementSize || count is not { HasValue: true, Value: int n } || n <= 0)
        {
            return Fail(DiagnosticCatalog.UnsupportedConstruct, operation.Syntax, $"'{operation.Syntax}'",
                "stackalloc needs a constant, positive length and an unmanaged element type");
        }

        var size = (elementSize * n + 7) & ~7;
        var slot = new Address(Reg.R10, _function.AllocateStack(size, 8));
        ZeroFill(slot, size);
        return AddressToValue(slot);
    }

    /// <summary>The type with the type arguments of the generic methods being inlined put in for their parameters.</summary>
    private ITypeSymbol Resolve(ITypeSymbol type) => type switch
    {
        ITypeParameterSymbol parameter when _typeArguments.TryGetValue(parameter, out var argument) => argument,
        IPointerTypeSymbol pointer when Resolve(pointer.PointedAtType) is var pointee && !SymbolEqualityComparer.Default.Equals(pointee, pointer.PointedAtType) =>
            _compilation.CreatePointerTypeSymbol(pointee),
        _ => type,
    };

    private Operand AddressToValue(Address address) =>
        address.Offset == 0 ? Operand.Reg(address.Base) : OffsetPointer(address.Base, Operand.Imm(address.Offset), 1, negate: false);

    private static bool IsStackAlloc(IOperation operation) =>
        operation.Kind == OperationKind.None && operation.Syntax is StackAllocArrayCreationExpressionSyntax or ImplicitStackAllocArrayCreationExpressionSyntax;
}

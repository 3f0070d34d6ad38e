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

    private void Copy(Address destination, Address source, int size, SyntaxNode syntax)
    {
        for (var offset = 0; offset < size;)
        {
            var chunk = size - offset >= 8 ? 8 : size - offset >= 4 ? 4 : size - offset >= 2 ? 2 : 1;
            var from = source with { Offset = source.Offset + offset };
            var to = destination with { Offset = destination.Offset + offset };
            if (!FitsOffset(from, syntax) || !FitsOffset(to, syntax))
                return;
            var temporary = _function.NewRegister();
            Emit(new LoadInstr(temporary, from.Base, (short)from.Offset, Ir.SizeForBytes(chunk)));
            Emit(new StoreInstr(to.Base, (short)to.Offset, Ir.SizeForBytes(chunk), Operand.Reg(temporary)));
            offset += chunk;
        }
    }

    private void ZeroFill(Address destination, int size)
    {
        for (var offset = 0; offset < size;)
        {
            var chunk = size - offset >= 8 ? 8 : size - offset >= 4 ? 4 : size - offset >= 2 ? 2 : 1;
            Emit(new StoreInstr(destination.Base, (short)(destination.Offset + offset), Ir.SizeForBytes(chunk), Operand.Imm(0)));
            offset += chunk;
        }
    }

    /// <summary>"stackalloc T[n]" with a constant n: a zeroed stack buffer (C# zero-initialises it too).</summary>
    private Operand EmitStackAlloc(IOperation operation)
    {
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

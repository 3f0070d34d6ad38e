using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Diagnostics;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Frontend;

internal sealed partial class MethodLowering
{
    private const string ContextType = "XdpCompiler.XdpContext";
    private const string NetworkOrderFieldAttribute = "XdpCompiler.NetworkOrderFieldAttribute";

    /// <summary>Offsets of <c>struct xdp_md</c>'s u32 fields; the verifier rewrites loads of data/data_end into packet pointers.</summary>
    private static readonly Dictionary<string, short> ContextFields = new()
    {
        ["Data"] = 0,
        ["DataEnd"] = 4,
        ["DataMeta"] = 8,
        ["IngressIfindex"] = 12,
        ["RxQueueIndex"] = 16,
        ["EgressIfindex"] = 20,
    };

    /// <summary>A memory location as base register + constant offset, so loads keep the offset in the instruction.</summary>
    private readonly record struct Address(int Base, long Offset);

    /// <summary>A static field of the program's own class that lives in a data section of its object.</summary>
    private bool IsGlobal(IFieldSymbol field) =>
        _globals.ContainsKey(field.Name) && GlobalCatalog.IsGlobal(field) &&
        SymbolEqualityComparer.Default.Equals(field.ContainingType, _method.ContainingType);

    private Address? EmitAddress(IOperation lvalue)
    {
        switch (lvalue)
        {
            case { Kind: OperationKind.None } deref when IsPointerDereference(deref):
                // "*p", and the implicit "*p" of "p->field".
                return new Address(EvalToRegister(deref.ChildOperations.First()), 0);
            case { Kind: OperationKind.None, Syntax: ElementAccessExpressionSyntax } element:
            {
                var children = element.ChildOperations.ToArray();
                if (children.Length != 2 || !CheckScalar(children[0].Type!, children[0].Syntax, out var pointer) ||
                    !CheckScalar(children[1].Type!, children[1].Syntax, out var indexType))
                {
                    return null;
                }

                var elementSize = ElementSize(pointer, element.Syntax);
                var baseAddress = children[0] is IFieldReferenceOperation { Field.IsFixedSizeBuffer: true } buffer
                    ? EmitAddress(buffer)
                    : new Address(EvalToRegister(children[0]), 0);
                if (baseAddress is not { } b)
                    return null;
                var index = Convert(Eval(children[1]), indexType, indexType with { Size = 8 });
                if (index.IsImmediate)
                    return b with { Offset = b.Offset + index.Immediate * elementSize };
                var moved = OffsetPointer(b.Base, index, elementSize, negate: false);
                return new Address(moved.Register, b.Offset);
            }
            case IFieldReferenceOperation { Instance: null } global when IsGlobal(global.Field):
            {
                var address = _function.NewRegister();
                Emit(new LoadGlobalInstr(address, global.Field.Name));
                return new Address(address, 0);
            }
            case IFieldReferenceOperation { Instance: { } instance } field:
            {
                if (EmitAddress(instance) is not { } container)
                    return null;
                var layout = _layout.GetStruct(Resolve(instance.Type!));
                if (layout is null || !layout.Offsets.TryGetValue(field.Field, out var offset))
                {
                    Report(DiagnosticCatalog.UnsupportedType, instance.Syntax, instance.Type!.ToDisplayString(), "it has no fixed unmanaged layout");
                    return null;
                }

                return container with { Offset = container.Offset + offset };
            }
            case ILocalReferenceOperation local when _stackLocals.TryGetValue(local.Local, out var slot):
                return new Address(Reg.R10, slot);
            case IParameterReferenceOperation parameter when _memoryParameters.TryGetValue(parameter.Parameter.OriginalDefinition, out var location):
                return location;
            case IDeclarationExpressionOperation { Expression: ILocalReferenceOperation declared }:
                // "out var x" passed to an inlined method: x gets its (zeroed) stack slot here.
                return TryDeclareStackLocal(declared.Local, null, declared.Syntax) ? new Address(Reg.R10, _stackLocals[declared.Local]) : EmitAddress(declared);
            case IInstanceReferenceOperation when _initializerTarget is { } target:
                return target;
            case ILocalReferenceOperation local:
                Report(DiagnosticCatalog.UnsupportedConstruct, local.Syntax, $"Taking the address of local '{local.Local.Name}'",
                    "this local lives in a register");
                return null;
            case ITupleOperation:
                Report(DiagnosticCatalog.UnsupportedConstruct, lvalue.Syntax, Describe(lvalue), "tuples are not supported; use separate locals or a struct");
                return null;
            case IConversionOperation { Type: INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable }:
                Report(DiagnosticCatalog.UnsupportedType, lvalue.Syntax, nullable.ToDisplayString(), "nullable values are not supported; use a separate bool, or a sentinel value");
                return null;
            default:
                Report(DiagnosticCatalog.UnsupportedConstruct, lvalue.Syntax, Describe(lvalue), "it is not a location in the packet or a map value");
                return null;
        }
    }

    private Operand LoadFrom(IOperation lvalue, ITypeSymbol type)
    {
        if (!CheckScalar(type, lvalue.Syntax, out var scalar) || EmitAddress(lvalue) is not { } address)
            return Operand.Imm(0);
        return Load(address, scalar, lvalue.Syntax);
    }

    private Operand Load(Address address, Scalar scalar, SyntaxNode syntax)
    {
        if (!FitsOffset(address, syntax))
            return Operand.Imm(0);
        var loaded = _function.NewRegister();
        Emit(new LoadInstr(loaded, address.Base, (short)address.Offset, Ir.SizeForBytes(scalar.Size)));
        // Loads zero-extend; a small signed value's canonical form is sign-extended to 32 bits. (A new register, so
        // both stay single-definition for the optimizer, which may then read the raw load where the sign is moot.)
        if (!scalar.Signed || scalar.Size >= 4)
            return Operand.Reg(loaded);
        var extended = _function.NewRegister();
        Emit(new ExtendInstr(extended, loaded, scalar.Bits, Signed: true, Width.W32));
        return Operand.Reg(extended);
    }

    private void Store(Address address, Scalar scalar, Operand value, SyntaxNode syntax)
    {
        if (!FitsOffset(address, syntax))
            return;
        if (value.IsImmediate && value.Immediate is < int.MinValue or > int.MaxValue && scalar.Size == 8)
            value = Operand.Reg(ToRegister(value));
        else if (value.IsImmediate && scalar.Size <= 4)
            value = Operand.Imm(unchecked((int)value.Immediate));
        Emit(new StoreInstr(address.Base, (short)address.Offset, Ir.SizeForBytes(scalar.Size), value));
    }

    private bool FitsOffset(Address address, SyntaxNode syntax)
    {
        if (address.Offset is >= short.MinValue and <= short.MaxValue)
            return true;
        Report(DiagnosticCatalog.UnsupportedConstruct, syntax, $"An offset of {address.Offset} bytes", "eBPF load and store offsets are 16-bit");
        return false;
    }

    /// <summary>A fixed buffer's value is its address.</summary>
    private Operand AddressValue(IFieldReferenceOperation field)
    {
        if (EmitAddress(field) is not { } address)
            return Operand.Imm(0);
        if (address.Offset == 0)
            return Operand.Reg(address.Base);
        return OffsetPointer(address.Base, Operand.Imm(address.Offset), 1, negate: false);
    }

    private Operand EmitProperty(IPropertyReferenceOperation property)
    {
        var symbol = property.Property;
        if (symbol.ContainingType.ToDisplayString() == ContextType && ContextFields.TryGetValue(symbol.Name, out var offset))
        {
            if (symbol.Name == "EgressIfindex" && _section != "xdp/devmap")
            {
                return Fail(DiagnosticCatalog.UnsupportedConstruct, property.Syntax, "Reading EgressIfindex",
                    "the kernel provides it only to programs in section \"xdp/devmap\" (run after a devmap redirect)");
            }

            var dst = _function.NewRegister();
            Emit(new LoadInstr(dst, _context, offset, MemSize.W));
            return Operand.Reg(dst);
        }

        var networkOrder = symbol.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == NetworkOrderFieldAttribute);
        if (networkOrder?.ConstructorArguments.FirstOrDefault().Value is string fieldName && property.Instance is { } instance &&
            symbol.ContainingType.GetMembers(fieldName).OfType<IFieldSymbol>().FirstOrDefault() is { } field &&
            TypeLayout.TryGetScalar(field.Type, out var fieldScalar) && CheckScalar(property.Type!, property.Syntax, out _))
        {
            if (EmitAddress(instance) is not { } container)
                return Operand.Imm(0);
            var layout = _layout.GetStruct(Resolve(instance.Type!));
            if (layout is null || !layout.Offsets.TryGetValue(field, out var fieldOffset))
                return Fail(DiagnosticCatalog.UnsupportedType, instance.Syntax, instance.Type!.ToDisplayString(), "it has no fixed unmanaged layout");
            var raw = Load(container with { Offset = container.Offset + fieldOffset }, fieldScalar with { Signed = false }, property.Syntax);
            if (fieldScalar.Size == 1 || raw.IsImmediate)
                return raw;
            var swapped = _function.NewRegister();
            Emit(new SwapInstr(swapped, raw.Register, fieldScalar.Bits));
            return Operand.Reg(swapped);
        }

        return Fail(DiagnosticCatalog.UnsupportedCall, property.Syntax, symbol.ToDisplayString(),
            "only XdpContext properties and header accessors can be read in an XDP program");
    }

    // ---- assignments ----

    private Operand EmitAssignment(ISimpleAssignmentOperation assignment)
    {
        if (IsVariable(assignment.Target))
        {
            var value = Eval(assignment.Value);
            if (TryGetVariable(assignment.Target, out var register))
            {
                Assign(register, value);
                return Operand.Reg(register);
            }

            return value;
        }

        if (assignment.Target.Type is { } rawTarget && Resolve(rawTarget) is var targetType && !TypeLayout.TryGetScalar(targetType, out _) && _layout.GetStruct(targetType) is not null)
        {
            if (EmitAddress(assignment.Target) is { } structAddress)
                StoreStruct(assignment.Value, structAddress, targetType, assignment.Syntax);
            return Operand.Imm(0);
        }

        if (!CheckScalar(assignment.Target.Type!, assignment.Target.Syntax, out var scalar) ||
            EmitAddress(assignment.Target) is not { } address)
        {
            return Operand.Imm(0);
        }

        var stored = Eval(assignment.Value);
        Store(address, scalar, stored, assignment.Syntax);
        return stored;
    }

    private Operand EmitCompoundAssignment(ICompoundAssignmentOperation compound)
    {
        if (compound.OperatorMethod is not null)
            return Fail(DiagnosticCatalog.UnsupportedCall, compound.Syntax, compound.OperatorMethod.ToDisplayString(), "user-defined operators are not supported yet");
        return ReadModifyWrite(compound.Target, compound.Syntax, (current, target) =>
        {
            if (target.IsPointer)
            {
                var delta = Eval(compound.Value);
                return OffsetPointer(ToRegister(current), Convert(delta, ScalarOf(compound.Value), ScalarOf(compound.Value) with { Size = 8 }),
                    ElementSize(target, compound.Syntax), negate: compound.OperatorKind == BinaryOperatorKind.Subtract);
            }

            // C# computes in at least int (or long); the result is converted back to the target's type.
            var valueType = ScalarOf(compound.Value);
            var computeType = target.Size == 8 || valueType.Size == 8
                ? target with { Size = 8 }
                : target with { Size = 4, Signed = target.Signed || valueType.Signed && target.Size < 4 };
            var op = MapOperator(compound.OperatorKind, computeType, compound.Syntax);
            if (op is null)
                return current;
            var right = Convert(Eval(compound.Value), valueType, computeType);
            var widened = Convert(current, target, computeType);
            return Convert(EmitArithmetic(op.Value, computeType, widened, right, compound.Value.Syntax), computeType, target);
        });
    }

    private Operand EmitIncrement(IIncrementOrDecrementOperation increment, bool resultUsed)
    {
        if (increment.OperatorMethod is not null)
            return Fail(DiagnosticCatalog.UnsupportedCall, increment.Syntax, increment.OperatorMethod.ToDisplayString(), "user-defined operators are not supported yet");
        var decrement = increment.Kind == OperationKind.Decrement;
        Operand old = default;
        var updated = ReadModifyWrite(increment.Target, increment.Syntax, (current, target) =>
        {
            if (increment.IsPostfix && resultUsed && !current.IsImmediate)
            {
                // The variable is about to be overwritten; keep the value the expression yields.
                var copy = _function.NewRegister();
                Emit(new MovInstr(copy, current.Register, Width.W64));
                old = Operand.Reg(copy);
            }
            else
            {
                old = current;
            }

            if (target.IsPointer)
                return OffsetPointer(ToRegister(current), Operand.Imm(1), ElementSize(target, increment.Syntax), negate: decrement);
            var computeType = target.Size == 8 ? target : target with { Size = 4, Signed = target.Signed || target.Size < 4 };
            var sum = EmitArithmetic(decrement ? BinaryOp.Sub : BinaryOp.Add, computeType, Convert(current, target, computeType), Operand.Imm(1), increment.Syntax);
            return Convert(sum, computeType, target);
        });
        return increment.IsPostfix ? old : updated;
    }

    /// <summary>Reads a local or memory location, computes the new value, and writes it back.</summary>
    private Operand ReadModifyWrite(IOperation target, SyntaxNode syntax, Func<Operand, Scalar, Operand> compute)
    {
        if (!CheckScalar(target.Type!, target.Syntax, out var scalar))
            return Operand.Imm(0);
        if (IsVariable(target))
        {
            if (!TryGetVariable(target, out var register))
                return Operand.Imm(0);
            Assign(register, compute(Operand.Reg(register), scalar));
            return Operand.Reg(register);
        }

        if (EmitAddress(target) is not { } address)
            return Operand.Imm(0);
        var result = compute(Load(address, scalar, syntax), scalar);
        Store(address, scalar, result, syntax);
        return result;
    }
}

using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Diagnostics;
using XdpCompiler.Core.IR;
using XdpCompiler.Core.Objects;

namespace XdpCompiler.Core.Frontend;

internal sealed partial class MethodLowering
{
    /// <summary>Kernel helper ids (include/uapi/linux/bpf.h, <c>___BPF_FUNC_MAPPER</c>).</summary>
    private static class Helper
    {
        public const int MapLookupElem = 1;
        public const int MapUpdateElem = 2;
        public const int MapDeleteElem = 3;
        public const int TailCall = 12;
        public const int RedirectMap = 51;
        public const int RingbufOutput = 130;
        public const int RingbufReserve = 131;
        public const int RingbufSubmit = 132;
        public const int RingbufDiscard = 133;
    }

    /// <summary>
    /// The kernel's <c>license_is_gpl_compatible</c>: the license strings that may call GPL-only helpers, compared
    /// exactly.
    /// </summary>
    internal static bool IsGplCompatible(string license) => license is "GPL" or "GPL v2" or "GPL and additional rights"
        or "Dual BSD/GPL" or "Dual MIT/GPL" or "Dual MPL/GPL";

    private Operand EmitInvocation(IInvocationOperation invocation, bool resultUsed)
    {
        var method = invocation.TargetMethod;
        var owner = method.ContainingType?.OriginalDefinition.ToDisplayString();
        switch (owner)
        {
            case "System.Threading.Interlocked" when method.Name is "Increment" or "Decrement" or "Add" or "Exchange"
                or "CompareExchange" or "And" or "Or" && !method.IsGenericMethod:
                return EmitInterlocked(invocation, resultUsed);
            case "XdpCompiler.Atomic" when method.Name == "Xor":
                return EmitInterlocked(invocation, resultUsed);
            case "XdpCompiler.ByteOrder" when method.Name is "NetworkToHost" or "HostToNetwork":
            case "System.Buffers.Binary.BinaryPrimitives" when method.Name == "ReverseEndianness":
                return EmitByteSwap(invocation);
            case "System.Math" when method.Name is "Min" or "Max" or "Clamp":
                return EmitMinMax(invocation);
            case "System.Numerics.BitOperations" when method.Name is "RotateLeft" or "RotateRight" or "PopCount" or "LeadingZeroCount"
                or "TrailingZeroCount" or "Log2":
                return EmitBitOperation(invocation);
            case UnsafeType:
                return EmitUnsafe(invocation);
            case MemoryMarshalType:
                return RejectMemoryMarshal(invocation);
        }

        if (method.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == HelperAttribute) is { } helper
            && helper.ConstructorArguments.FirstOrDefault().Value is int helperId)
        {
            if (helper.NamedArguments.FirstOrDefault(a => a.Key == "GplOnly").Value.Value is true && !IsGplCompatible(_license))
                return Fail(DiagnosticCatalog.GplOnlyHelper, invocation.Syntax, method.ToDisplayString(), _license);
            var sizeAfter = helper.NamedArguments.FirstOrDefault(a => a.Key == "SizeOfPointeeAfter").Value.Value is int after ? after : -1;
            return EmitHelperCall(invocation, helperId, sizeAfter);
        }

        if (invocation.Instance is IFieldReferenceOperation { Field.IsStatic: true } mapField && MapCatalog.IsMapType(mapField.Field.Type))
            return EmitMapCall(invocation, mapField.Field);

        if (method.IsStatic && FindBody(method) is { } body)
            return IsOutOfLine(method) ? EmitSubprogramCall(invocation, method) : EmitInline(invocation, method, body);

        return Fail(DiagnosticCatalog.UnsupportedCall, invocation.Syntax, method.ToDisplayString(),
            method.DeclaringSyntaxReferences.Length > 0
                ? method.IsStatic ? "it has no body to compile" : "only static methods can be called (eBPF has no objects)"
                : "it has no eBPF lowering");
    }

    private const int MaxInlineDepth = 16;
    private const string HelperAttribute = "XdpCompiler.BpfHelperAttribute";

    /// <summary>
    /// A call to an API method marked [BpfHelper(id)]: the XdpContext receiver (if any) and the arguments go to R1-R5,
    /// the result comes back in R0. Arguments are computed first and moved into place last, so computing one cannot
    /// clobber another.
    /// </summary>
    private Operand EmitHelperCall(IInvocationOperation invocation, int helperId, int sizeOfPointeeAfter = -1)
    {
        var arguments = new List<Operand>();
        if (invocation.Instance is { } instance)
        {
            if (instance is IParameterReferenceOperation p && _contextParameters.Contains(p.Parameter))
                arguments.Add(Operand.Reg(_context));
            else
                return Fail(DiagnosticCatalog.UnsupportedCall, invocation.Syntax, invocation.TargetMethod.ToDisplayString(), "call it on the program's XdpContext parameter");
        }

        foreach (var argument in invocation.Arguments)
        {
            // A constant string (bpf_trace_printk's format) goes to the stack, NUL-terminated, as a pointer and a size.
            if (argument.Value.Type?.SpecialType == SpecialType.System_String)
            {
                if (argument.Value.ConstantValue is not { HasValue: true, Value: string text })
                    return Fail(DiagnosticCatalog.StringUse, argument.Syntax, argument.Syntax.ToString());
                var bytes = System.Text.Encoding.UTF8.GetBytes(text + "\0");
                var slot = new Address(Reg.R10, _function.AllocateStack((bytes.Length + 7) & ~7, 8));
                for (var offset = 0; offset < bytes.Length; offset += 8)
                {
                    long word = 0;
                    for (var b = 0; b < 8 && offset + b < bytes.Length; b++)
                        word |= (long)bytes[offset + b] << (8 * b);
                    var chunk = Math.Min(8, bytes.Length - offset) > 4 ? 8 : 4;
                    Store(new Address(Reg.R10, slot.Offset + offset), new Scalar(chunk, false, false, false, argument.Value.Type), Operand.Imm(word), argument.Syntax);
                }

                arguments.Add(Operand.Reg(ToRegister(AddressToValue(slot))));
                arguments.Add(Operand.Imm(bytes.Length));
                continue;
            }

            if (!CheckScalar(argument.Value.Type!, argument.Syntax, out var scalar))
                return Operand.Imm(0);
            var value = Eval(argument.Value);
            arguments.Add(value.IsImmediate ? value : Operand.Reg(CopyOf(value.Register)));
            if (argument.Parameter?.Ordinal == sizeOfPointeeAfter)
            {
                // The helper takes the pointee's size next (bpf_fib_lookup's plen): a constant the caller cannot get wrong.
                if (scalar.Pointee is not { } pointee || _layout.SizeOf(Resolve(pointee)) is not { } pointeeSize)
                    return Fail(DiagnosticCatalog.UnsupportedCall, argument.Syntax, invocation.TargetMethod.ToDisplayString(), "the argument must point to a type with a fixed layout");
                arguments.Add(Operand.Imm(pointeeSize));
            }
        }

        if (arguments.Count > 5)
            return Fail(DiagnosticCatalog.UnsupportedCall, invocation.Syntax, invocation.TargetMethod.ToDisplayString(), "eBPF helpers take at most 5 arguments");

        _source = Locations.Of(invocation.Syntax);
        for (var i = 0; i < arguments.Count; i++)
            Assign(Reg.R1 + i, arguments[i]);
        Emit(new CallInstr(helperId, arguments.Count));
        var method = invocation.TargetMethod;
        if (method.ReturnsVoid || !CheckScalar(method.ReturnType, invocation.Syntax, out var returned))
            return Operand.Imm(0);
        var result = _function.NewRegister();
        // Helpers return 64 bits; a C# int, uint or enum result is their low half.
        Emit(returned.Size == 8 ? new MovInstr(result, Reg.R0, Width.W64) : new ExtendInstr(result, Reg.R0, 32, Signed: false, Width.W32));
        if (returned.Size < 4)
            return Convert(Operand.Reg(result), returned with { Size = 4 }, returned);
        return Operand.Reg(result);
    }

    /// <summary>A fresh register holding the value, so a later assignment to a local cannot change an argument.</summary>
    private int CopyOf(int register)
    {
        var copy = _function.NewRegister();
        Emit(new MovInstr(copy, register, Width.W64));
        return copy;
    }

    /// <summary>The caller's place to continue after an inlined method returns, and where its value goes.</summary>
    private sealed record InlineFrame(IMethodSymbol Method, IrBlock ReturnBlock, int? Result, Address? StructResult = null, ITypeSymbol? StructType = null);

    /// <summary>The declaration with a body that a call to <paramref name="method"/> compiles (a partial method's implementation).</summary>
    internal static MethodDeclarationSyntax? FindBody(IMethodSymbol method)
    {
        if (method.IsExtern || method.IsAsync)
            return null;
        var implementation = method.PartialImplementationPart ?? method;
        return implementation.DeclaringSyntaxReferences
            .Select(r => r.GetSyntax())
            .OfType<MethodDeclarationSyntax>()
            .FirstOrDefault(m => m.Body is not null || m.ExpressionBody is not null);
    }

    /// <summary>
    /// Compiles a call to a static method of the project by inlining its body: arguments become fresh registers,
    /// returns jump to the code after the call. eBPF has BPF-to-BPF calls too, but inlined code is what the
    /// verifier tracks best (packet ranges and map-value nullness stay in one frame).
    /// </summary>
    private Operand EmitInline(IInvocationOperation invocation, IMethodSymbol method, MethodDeclarationSyntax declaration,
        Address? structResult = null)
    {
        var original = method.OriginalDefinition;
        if (SymbolEqualityComparer.Default.Equals(original, _method.OriginalDefinition) ||
            _frames.Any(f => SymbolEqualityComparer.Default.Equals(f.Method, original)))
        {
            return Fail(DiagnosticCatalog.Recursion, invocation.Syntax, method.ToDisplayString());
        }

        if (_frames.Count >= MaxInlineDepth)
            return Fail(DiagnosticCatalog.InlineDepth, invocation.Syntax, method.ToDisplayString(), _frames.Count + 1, MaxInlineDepth);

        var model = _compilation.GetSemanticModel(declaration.SyntaxTree);
        if (model.GetOperation(declaration) is not IMethodBodyOperation body)
            return Fail(DiagnosticCatalog.UnsupportedCall, invocation.Syntax, method.ToDisplayString(), "its body does not bind");

        ScanAddressTaken(body);
        // A generic method is compiled for its type arguments: every type in its body is resolved through them.
        for (var i = 0; i < original.TypeParameters.Length; i++)
            _typeArguments[original.TypeParameters[i]] = Resolve(method.TypeArguments[i]);
        foreach (var argument in invocation.Arguments)
        {
            var parameter = argument.Parameter!;
            if (parameter.RefKind != RefKind.None)
            {
                // ref/in/out: the parameter is the caller's location (a stack local, packet or map field, *p).
                if (EmitAddress(argument.Value) is { } location)
                    _memoryParameters[parameter.OriginalDefinition] = location;
                continue;
            }

            if (parameter.Type.ToDisplayString() == ContextType)
            {
                if (argument.Value is IParameterReferenceOperation p && _contextParameters.Contains(p.Parameter))
                    _contextParameters.Add(parameter.OriginalDefinition);
                else
                    Report(DiagnosticCatalog.UnsupportedConstruct, argument.Syntax, "This context argument", "pass the program's own XdpContext parameter");
                continue;
            }

            var parameterType = Resolve(parameter.Type);
            if (!TypeLayout.TryGetScalar(parameterType, out _) && _layout.GetStruct(parameterType) is not null)
            {
                // A struct by value: the callee gets its own copy, so its writes stay local as in C#.
                var size = _layout.SizeOf(parameterType)!.Value;
                var slot = new Address(Reg.R10, _function.AllocateStack((size + 7) & ~7, 8));
                StoreStruct(argument.Value, slot, parameterType, argument.Syntax);
                _memoryParameters[parameter.OriginalDefinition] = slot;
                continue;
            }

            if (!CheckScalar(parameter.Type, argument.Syntax, out _))
                continue;
            var register = _function.NewRegister();
            Assign(register, Eval(argument.Value));
            _parameters[parameter.OriginalDefinition] = register;
        }

        int? result = null;
        var returnType = Resolve(method.ReturnType);
        if (structResult is null && !method.ReturnsVoid && CheckScalar(returnType, invocation.Syntax, out _))
            result = _function.NewRegister();

        var returnBlock = _function.NewBlockDetached();
        var callerSource = _source;
        _frames.Push(new InlineFrame(original, returnBlock, result, structResult, structResult is null ? null : returnType));
        EmitStatement(body);
        JumpTo(returnBlock);
        _frames.Pop();
        foreach (var typeParameter in original.TypeParameters)
            _typeArguments.Remove(typeParameter);
        _source = callerSource;
        StartBlock(returnBlock);
        return result is { } r ? Operand.Reg(r) : Operand.Imm(0);
    }

    private Operand EmitMapCall(IInvocationOperation invocation, IFieldSymbol field)
    {
        if (!_maps.TryGetValue(field.Name, out var map) || !SymbolEqualityComparer.Default.Equals(field.ContainingType, _method.ContainingType))
        {
            return Fail(DiagnosticCatalog.InvalidMap, invocation.Syntax, field.Name,
                "a program can use only the valid [Map] fields of its own class");
        }

        var name = invocation.TargetMethod.Name;
        if (name == "Redirect" && map.Type is BpfMapType.DevMap or BpfMapType.DevMapHash or BpfMapType.CpuMap or BpfMapType.XskMap)
            return EmitRedirectMap(invocation, map);
        if (name == "TailCall" && map.Type == BpfMapType.ProgArray)
            return EmitTailCall(invocation, map);
        if (map.Type == BpfMapType.RingBuf)
            return EmitRingBufferCall(invocation, map);
        if (map.Type is not (BpfMapType.Array or BpfMapType.PerCpuArray or BpfMapType.Hash or BpfMapType.PerCpuHash
            or BpfMapType.LruHash or BpfMapType.LruPerCpuHash or BpfMapType.LpmTrie))
        {
            return Fail(DiagnosticCatalog.UnsupportedCall, invocation.Syntax, invocation.TargetMethod.ToDisplayString(), "it has no eBPF lowering");
        }

        var helper = invocation.TargetMethod.Name switch
        {
            "Lookup" => Helper.MapLookupElem,
            "Update" => Helper.MapUpdateElem,
            "Delete" => Helper.MapDeleteElem,
            _ => 0,
        };
        if (helper == 0)
            return Fail(DiagnosticCatalog.UnsupportedCall, invocation.Syntax, invocation.TargetMethod.ToDisplayString(), "it has no eBPF lowering");

        _usedMaps.Add(map.Name);
        // The helpers take pointers to the key and the value, so both go to the stack first.
        var key = invocation.Arguments[0].Value;
        var keySlot = StackSlotFor(map.KeySize);
        StoreValue(key, keySlot, map.KeySize, invocation.Syntax);
        Address? valueSlot = null;
        Operand flags = Operand.Imm(0);
        if (helper == Helper.MapUpdateElem)
        {
            valueSlot = StackSlotFor(map.ValueSize);
            StoreValue(invocation.Arguments[1].Value, valueSlot.Value, map.ValueSize, invocation.Syntax);
            if (invocation.Arguments.Length > 2)
                flags = Eval(invocation.Arguments[2].Value);
            if (!flags.IsImmediate)
                flags = Operand.Reg(CopyOf(flags.Register));
        }

        _source = Locations.Of(invocation.Syntax);
        Emit(new LoadMapInstr(Reg.R1, map.Name));
        Emit(new MovInstr(Reg.R2, Reg.R10, Width.W64));
        Emit(new BinaryInstr(BinaryOp.Add, Width.W64, Reg.R2, Reg.R2, Operand.Imm(keySlot.Offset)));
        var arguments = 2;
        if (valueSlot is { } value)
        {
            Emit(new MovInstr(Reg.R3, Reg.R10, Width.W64));
            Emit(new BinaryInstr(BinaryOp.Add, Width.W64, Reg.R3, Reg.R3, Operand.Imm(value.Offset)));
            Assign(Reg.R4, flags);
            arguments = 4;
        }

        Emit(new CallInstr(helper, arguments));
        var result = _function.NewRegister();
        // Lookup returns the value's address (or null); update and delete return 0 or -errno as an int.
        Emit(helper == Helper.MapLookupElem ? new MovInstr(result, Reg.R0, Width.W64) : new ExtendInstr(result, Reg.R0, 32, Signed: false, Width.W32));
        return Operand.Reg(result);
    }

    /// <summary>bpf_redirect_map(map, key, flags): the key goes by value, the result is the program's verdict.</summary>
    private Operand EmitRedirectMap(IInvocationOperation invocation, MapSpec map)
    {
        _usedMaps.Add(map.Name);
        var key = Eval(invocation.Arguments[0].Value);
        var flags = invocation.Arguments.Length > 1 ? Eval(invocation.Arguments[1].Value) : Operand.Imm(0);
        key = key.IsImmediate ? key : Operand.Reg(CopyOf(key.Register));
        flags = flags.IsImmediate ? flags : Operand.Reg(CopyOf(flags.Register));
        _source = Locations.Of(invocation.Syntax);
        Emit(new LoadMapInstr(Reg.R1, map.Name));
        Assign(Reg.R2, key);
        Assign(Reg.R3, flags);
        Emit(new CallInstr(Helper.RedirectMap, 3));
        var result = _function.NewRegister();
        Emit(new ExtendInstr(result, Reg.R0, 32, Signed: false, Width.W32));
        return Operand.Reg(result);
    }

    /// <summary>
    /// <c>bpf_tail_call(ctx, map, index)</c>, then the fallback: a tail call that succeeds never returns, so the code
    /// after the call runs only when the slot was empty (or the chain too long) and returns <c>ifMissing</c>. Only the
    /// value of a <c>return</c> of the program method itself can be a tail call: anywhere else the C# would go on after
    /// the call, where the kernel would not.
    /// </summary>
    private Operand EmitTailCall(IInvocationOperation invocation, MapSpec map)
    {
        if (!ReferenceEquals(invocation, _returnedInvocation) || _frames.Count > 0 || _isSubprogram)
        {
            return Fail(DiagnosticCatalog.UnsupportedConstruct, invocation.Syntax, "A tail call here",
                "a tail call never comes back, so it must be the whole value of a 'return' in the [XdpProgram] method itself: 'return Map.TailCall(ctx, index, ifMissing);'");
        }

        if (invocation.Arguments[0].Value is not IParameterReferenceOperation p || !_contextParameters.Contains(p.Parameter))
            return Fail(DiagnosticCatalog.UnsupportedCall, invocation.Syntax, invocation.TargetMethod.ToDisplayString(), "pass the program's own XdpContext parameter");
        _usedMaps.Add(map.Name);
        var index = Eval(invocation.Arguments[1].Value);
        index = index.IsImmediate ? index : Operand.Reg(CopyOf(index.Register));
        var fallback = Eval(invocation.Arguments[2].Value);
        fallback = fallback.IsImmediate ? fallback : Operand.Reg(CopyOf(fallback.Register));
        _source = Locations.Of(invocation.Syntax);
        Assign(Reg.R1, Operand.Reg(_context));
        Emit(new LoadMapInstr(Reg.R2, map.Name));
        Assign(Reg.R3, index);
        Emit(new CallInstr(Helper.TailCall, 3));
        return fallback;
    }

    /// <summary>
    /// Ring buffer calls: <c>Output(in T, flags)</c> copies the value to the stack and calls bpf_ringbuf_output with its
    /// size; <c>Reserve&lt;T&gt;()</c> is bpf_ringbuf_reserve with the constant size of T; <c>Submit(p, flags)</c> and
    /// <c>Discard(p, flags)</c> take only the record (the kernel finds its buffer from it).
    /// </summary>
    private Operand EmitRingBufferCall(IInvocationOperation invocation, MapSpec map)
    {
        var method = invocation.TargetMethod;
        if (method.Name is not ("Output" or "Reserve" or "Submit" or "Discard") || method.TypeArguments.Length != 1)
            return Fail(DiagnosticCatalog.UnsupportedCall, invocation.Syntax, method.ToDisplayString(), "it has no eBPF lowering");
        var recordType = Resolve(method.TypeArguments[0]);
        if (_layout.SizeOf(recordType) is not { } size)
            return Fail(DiagnosticCatalog.UnsupportedType, invocation.Syntax, recordType.ToDisplayString(), "a ring buffer record needs a fixed unmanaged layout");
        Operand Flags(int at)
        {
            var flags = invocation.Arguments.Length > at ? Eval(invocation.Arguments[at].Value) : Operand.Imm(0);
            return flags.IsImmediate ? flags : Operand.Reg(CopyOf(flags.Register));
        }

        int helper;
        switch (method.Name)
        {
            case "Output":
            {
                var slot = StackSlotFor(size);
                StoreValue(invocation.Arguments[0].Value, slot, size, invocation.Syntax);
                var flags = Flags(1);
                _source = Locations.Of(invocation.Syntax);
                Emit(new LoadMapInstr(Reg.R1, map.Name));
                Emit(new MovInstr(Reg.R2, Reg.R10, Width.W64));
                Emit(new BinaryInstr(BinaryOp.Add, Width.W64, Reg.R2, Reg.R2, Operand.Imm(slot.Offset)));
                Assign(Reg.R3, Operand.Imm(size));
                Assign(Reg.R4, flags);
                helper = Helper.RingbufOutput;
                Emit(new CallInstr(helper, 4));
                break;
            }
            case "Reserve":
                _source = Locations.Of(invocation.Syntax);
                Emit(new LoadMapInstr(Reg.R1, map.Name));
                Assign(Reg.R2, Operand.Imm(size));
                Assign(Reg.R3, Operand.Imm(0));
                helper = Helper.RingbufReserve;
                Emit(new CallInstr(helper, 3));
                break;
            default:
            {
                var record = Eval(invocation.Arguments[0].Value);
                record = record.IsImmediate ? record : Operand.Reg(CopyOf(record.Register));
                var flags = Flags(1);
                _source = Locations.Of(invocation.Syntax);
                Assign(Reg.R1, record);
                Assign(Reg.R2, flags);
                helper = method.Name == "Submit" ? Helper.RingbufSubmit : Helper.RingbufDiscard;
                Emit(new CallInstr(helper, 2));
                _usedMaps.Add(map.Name);
                return Operand.Imm(0);
            }
        }

        _usedMaps.Add(map.Name);
        // Output returns 0 or -errno as a long; Reserve a pointer or null: both all 64 bits.
        var result = _function.NewRegister();
        Emit(new MovInstr(result, Reg.R0, Width.W64));
        return Operand.Reg(result);
    }

    /// <summary>A slot for a helper's key or value: a scalar's own size and alignment, whole 8-byte words for a struct.</summary>
    private Address StackSlotFor(int size) => new(Reg.R10, size is 1 or 2 or 4 or 8
        ? _function.AllocateStack(size, size)
        : _function.AllocateStack((size + 7) & ~7, 8));

    /// <summary>Writes a scalar or struct argument into a stack slot of <paramref name="size"/> bytes.</summary>
    private void StoreValue(IOperation value, Address slot, int size, SyntaxNode syntax)
    {
        var type = Resolve(value.Type!);
        if (TypeLayout.TryGetScalar(type, out var scalar))
            Store(slot, scalar with { Size = Math.Min(scalar.Size, size) }, Eval(value), syntax);
        else
            StoreStruct(value, slot, type, syntax);
    }

    /// <summary>
    /// Interlocked operations as BPF atomics (kernel 5.12+): add with or without fetching the old value, and/or,
    /// exchange and compare-exchange (whose comparand and result live in R0). The kernel allows them on map values
    /// and the stack, not on packet memory.
    /// </summary>
    private Operand EmitInterlocked(IInvocationOperation invocation, bool resultUsed)
    {
        var name = invocation.TargetMethod.Name;
        var target = invocation.Arguments[0].Value;
        if (!CheckScalar(target.Type!, target.Syntax, out var scalar))
            return Operand.Imm(0);
        if (scalar.Size is not (4 or 8))
            return Fail(DiagnosticCatalog.UnsupportedCall, invocation.Syntax, invocation.TargetMethod.ToDisplayString(), "eBPF atomics work on 4- and 8-byte values");
        if (EmitAddress(target) is not { } address || !FitsOffset(address, target.Syntax))
            return Operand.Imm(0);
        var size = Ir.SizeForBytes(scalar.Size);

        if (name == "CompareExchange")
        {
            var replacement = ToRegister(Eval(invocation.Arguments[1].Value));
            var comparand = Eval(invocation.Arguments[2].Value);
            Assign(Reg.R0, comparand);
            Emit(new AtomicInstr(AtomicOp.CmpXchg, address.Base, (short)address.Offset, size, replacement, Reg.R0));
            var original = _function.NewRegister();
            Emit(new MovInstr(original, Reg.R0, Width.W64));
            return Operand.Reg(original);
        }

        var (op, alwaysFetches) = name switch
        {
            "Exchange" => (AtomicOp.Xchg, true),
            "And" => (AtomicOp.And, false),
            "Or" => (AtomicOp.Or, false),
            "Xor" => (AtomicOp.Xor, false),
            _ => (AtomicOp.Add, false),
        };
        var operand = name switch
        {
            "Increment" => Operand.Imm(1),
            "Decrement" => Operand.Imm(scalar.Size == 8 ? -1 : 0xFFFF_FFFFL),
            _ => Eval(invocation.Arguments[1].Value),
        };
        var value = ToRegister(operand);
        int? fetched = resultUsed || alwaysFetches ? _function.NewRegister() : null;
        if (fetched is { } f)
            Emit(new MovInstr(f, value, Width.W64));
        Emit(new AtomicInstr(op, address.Base, (short)address.Offset, size, fetched ?? value, fetched));
        if (fetched is not { } old)
            return Operand.Imm(0);
        // Add, Increment and Decrement return the new value; the others (and the fetch) give the old one.
        return name is "Add" or "Increment" or "Decrement"
            ? EmitArithmetic(BinaryOp.Add, scalar, Operand.Reg(old), Operand.Reg(value), invocation.Syntax)
            : Operand.Reg(old);
    }

    private Operand EmitByteSwap(IInvocationOperation invocation)
    {
        var argument = invocation.Arguments[0].Value;
        if (!CheckScalar(argument.Type!, argument.Syntax, out var scalar))
            return Operand.Imm(0);
        var value = Eval(argument);
        if (scalar.Size == 1)
            return value;
        if (value.IsImmediate)
        {
            ulong v = (ulong)value.Immediate, swapped = 0;
            for (var i = 0; i < scalar.Size; i++)
                swapped |= ((v >> (8 * i)) & 0xFF) << (8 * (scalar.Size - 1 - i));
            var result = scalar.Signed && scalar.Size < 8 ? (long)swapped << (64 - scalar.Bits) >> (64 - scalar.Bits) : (long)swapped;
            return Operand.Imm(scalar.Size <= 4 ? result & 0xFFFF_FFFFL : result);
        }

        var dst = _function.NewRegister();
        Emit(new SwapInstr(dst, value.Register, scalar.Bits));
        if (!scalar.Signed || scalar.Size != 2)
            return Operand.Reg(dst);
        var extended = _function.NewRegister();
        Emit(new ExtendInstr(extended, dst, 16, Signed: true, Width.W32));
        return Operand.Reg(extended);
    }

    /// <summary>
    /// Math.Min and Math.Max of integers, and Math.Clamp with constant bounds (C# throws when min &gt; max, so those
    /// must be known): the first value, replaced by the second where it wins a compare of the type's signedness.
    /// </summary>
    private Operand EmitMinMax(IInvocationOperation invocation)
    {
        var method = invocation.TargetMethod;
        if (!CheckScalar(method.ReturnType, invocation.Syntax, out var scalar))
            return Operand.Imm(0);
        if (scalar.IsPointer || scalar.IsBool)
            return Fail(DiagnosticCatalog.UnsupportedCall, invocation.Syntax, method.ToDisplayString(), "only integer overloads have an eBPF lowering");
        if (method.Name != "Clamp")
            return MinMax(method.Name == "Min", scalar, Eval(invocation.Arguments[0].Value), Eval(invocation.Arguments[1].Value));

        // C# evaluates the arguments in order: the value before the bounds.
        var value = Eval(invocation.Arguments[0].Value);
        var low = Eval(invocation.Arguments[1].Value);
        var high = Eval(invocation.Arguments[2].Value);
        if (!low.IsImmediate || !high.IsImmediate)
        {
            return Fail(DiagnosticCatalog.UnsupportedConstruct, invocation.Syntax, "Math.Clamp with bounds that are not constants",
                "C# throws ArgumentException when min > max; write Math.Min(Math.Max(value, min), max)");
        }

        if (ReplacesWhen(scalar, min: false).Evaluate(scalar.Width, low.Immediate, high.Immediate))
            return Fail(DiagnosticCatalog.UnsupportedConstruct, invocation.Syntax, "Math.Clamp with min greater than max", "C# throws ArgumentException");
        return MinMax(min: true, scalar, MinMax(min: false, scalar, value, low), high);
    }

    // The compare under which b replaces a: b < a for Min, b > a for Max.
    private static Condition ReplacesWhen(Scalar scalar, bool min) => (min, scalar.Signed) switch
    {
        (true, true) => Condition.LtSigned,
        (true, false) => Condition.LtUnsigned,
        (false, true) => Condition.GtSigned,
        _ => Condition.GtUnsigned,
    };

    private Operand MinMax(bool min, Scalar scalar, Operand a, Operand b)
    {
        var width = scalar.Width;
        var condition = ReplacesWhen(scalar, min);
        if (a.IsImmediate && b.IsImmediate)
            return condition.Evaluate(width, b.Immediate, a.Immediate) ? b : a;

        var dst = _function.NewRegister();
        Assign(dst, a);
        var takeSecond = _function.NewBlockDetached();
        var join = _function.NewBlockDetached();
        var branch = b.IsImmediate
            ? new BranchTerm(condition.Swap(), width, dst, FitImmediate(b, width), takeSecond, join)
            : new BranchTerm(condition, width, b.Register, Operand.Reg(dst), takeSecond, join);
        if (_current.Terminator is null)
            _current.Terminator = branch with { Source = _source };
        StartBlock(takeSecond);
        Assign(dst, b);
        JumpTo(join);
        StartBlock(join);
        return Operand.Reg(dst);
    }

    /// <summary>
    /// BitOperations without an eBPF instruction of their own: rotations are two shifts and an or (C# masks the count,
    /// so a rotation by 0 or by the width is the value itself); PopCount is the classic SWAR sum of bit fields; the zero
    /// counts and Log2 reduce to it (TrailingZeroCount(x) = PopCount(~x &amp; (x - 1)), LeadingZeroCount fills the bits
    /// below the highest set one first). Each agrees with .NET at 0: 32 or 64 zeros, Log2(0) = 0.
    /// </summary>
    private Operand EmitBitOperation(IInvocationOperation invocation)
    {
        var method = invocation.TargetMethod;
        var argument = invocation.Arguments[0].Value;
        if (!CheckScalar(argument.Type!, argument.Syntax, out var scalar))
            return Operand.Imm(0);
        var syntax = invocation.Syntax;
        var bits = scalar.Size * 8;
        Operand Op(BinaryOp op, Operand left, Operand right) => EmitArithmetic(op, scalar, left, right, syntax);
        Operand Imm(ulong value) => Operand.Imm(bits == 64 ? unchecked((long)value) : (long)(value & 0xFFFF_FFFF));
        var value = Eval(argument);

        switch (method.Name)
        {
            case "RotateLeft" or "RotateRight":
            {
                var count = Eval(invocation.Arguments[1].Value);
                var other = count.IsImmediate ? Operand.Imm(bits - count.Immediate) : Op(BinaryOp.Sub, Operand.Imm(bits), count);
                var (first, second) = method.Name == "RotateLeft" ? (count, other) : (other, count);
                return Op(BinaryOp.Or, Op(BinaryOp.Shl, value, first), Op(BinaryOp.ShrUnsigned, value, second));
            }
            case "PopCount":
                return PopCount(value);
            case "TrailingZeroCount":
                return PopCount(Op(BinaryOp.And, Op(BinaryOp.Xor, value, Imm(ulong.MaxValue)), Op(BinaryOp.Sub, value, Operand.Imm(1))));
            case "LeadingZeroCount":
                return Op(BinaryOp.Sub, Operand.Imm(bits), PopCount(FillDown(value)));
            default:
                // Log2(x) = (bits - 1) - LeadingZeroCount(x | 1).
                return Op(BinaryOp.Sub, Operand.Imm(bits - 1), Op(BinaryOp.Sub, Operand.Imm(bits), PopCount(FillDown(Op(BinaryOp.Or, value, Operand.Imm(1))))));
        }

        Operand FillDown(Operand x)
        {
            for (var shift = 1; shift < bits; shift <<= 1)
                x = Op(BinaryOp.Or, x, Op(BinaryOp.ShrUnsigned, x, Operand.Imm(shift)));
            return x;
        }

        Operand PopCount(Operand x)
        {
            x = Op(BinaryOp.Sub, x, Op(BinaryOp.And, Op(BinaryOp.ShrUnsigned, x, Operand.Imm(1)), Imm(0x5555_5555_5555_5555)));
            x = Op(BinaryOp.Add, Op(BinaryOp.And, x, Imm(0x3333_3333_3333_3333)), Op(BinaryOp.And, Op(BinaryOp.ShrUnsigned, x, Operand.Imm(2)), Imm(0x3333_3333_3333_3333)));
            x = Op(BinaryOp.And, Op(BinaryOp.Add, x, Op(BinaryOp.ShrUnsigned, x, Operand.Imm(4))), Imm(0x0F0F_0F0F_0F0F_0F0F));
            return Op(BinaryOp.ShrUnsigned, Op(BinaryOp.Mul, x, Imm(0x0101_0101_0101_0101)), Operand.Imm(bits - 8));
        }
    }
}

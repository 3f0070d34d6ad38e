using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;
using XdpCompiler.Core.Diagnostics;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Frontend;

// System.Runtime.CompilerServices.Unsafe on pointers: each method is a plain load, store, address computation or
// constant-size block operation, so it lowers to what the equivalent pointer expression would. MemoryMarshal works on
// spans, which eBPF code cannot have; it gets a diagnostic that names the pointer form to use instead.
internal sealed partial class MethodLowering
{
    private const string UnsafeType = "System.Runtime.CompilerServices.Unsafe";
    private const string MemoryMarshalType = "System.Runtime.InteropServices.MemoryMarshal";

    /// <summary>The largest InitBlock/CopyBlock unrolled into loads and stores: the whole eBPF stack.</summary>
    private const int MaxBlockBytes = 512;

    private const string SupportedUnsafe = "supported on pointers: SizeOf, Read, ReadUnaligned, Write, WriteUnaligned, Add, Subtract, " +
        "AsPointer, InitBlock, InitBlockUnaligned and CopyBlock, CopyBlockUnaligned with a constant size";

    private static bool IsUnsafeRead(IMethodSymbol method) =>
        method.ContainingType?.ToDisplayString() == UnsafeType && method.Name is "Read" or "ReadUnaligned" && method.Parameters.Length == 1;

    private Operand EmitUnsafe(IInvocationOperation invocation)
    {
        var method = invocation.TargetMethod;
        var arguments = invocation.Arguments.OrderBy(a => a.Parameter?.Ordinal ?? 0).ToArray();
        var type = method.TypeArguments.Length == 1 ? Resolve(method.TypeArguments[0]) : null;
        var syntax = invocation.Syntax;
        switch (method.Name)
        {
            case "SizeOf" when type is not null:
                return _layout.SizeOf(type) is { } typeSize
                    ? Operand.Imm(typeSize)
                    : Fail(DiagnosticCatalog.UnsupportedType, syntax, type.ToDisplayString(), "it has no fixed unmanaged layout");

            case "Read" or "ReadUnaligned" when type is not null && arguments.Length == 1:
            {
                if (!TypeLayout.TryGetScalar(type, out _))
                {
                    return Fail(DiagnosticCatalog.UnsupportedConstruct, syntax, $"Reading a {type.ToDisplayString()} as a value",
                        "assign a struct read to a local (var h = Unsafe.ReadUnaligned<T>(p);) or read through a T* pointer");
                }
                if (!CheckScalar(type, syntax, out var scalar) || Location(arguments[0]) is not { } source)
                    return Operand.Imm(0);
                return Load(source, scalar, syntax);
            }

            case "Write" or "WriteUnaligned" when type is not null && arguments.Length == 2:
            {
                if (Location(arguments[0]) is not { } destination)
                    return Operand.Imm(0);
                if (!TypeLayout.TryGetScalar(type, out _))
                {
                    StoreStruct(arguments[1].Value, destination, type, syntax);
                    return Operand.Imm(0);
                }
                if (!CheckScalar(type, syntax, out var scalar))
                    return Operand.Imm(0);
                Store(destination, scalar, Eval(arguments[1].Value), syntax);
                return Operand.Imm(0);
            }

            case "Add" or "Subtract" when type is not null && arguments.Length == 2 && arguments[0].Value.Type is IPointerTypeSymbol
                                          && arguments[1].Value.Type is { } indexType && CheckScalar(indexType, arguments[1].Syntax, out var index):
            {
                if (_layout.SizeOf(type) is not { } elementSize)
                    return Fail(DiagnosticCatalog.UnsupportedType, syntax, type.ToDisplayString(), "it has no fixed unmanaged layout");
                var pointer = EvalToRegister(arguments[0].Value);
                var offset = Convert(Eval(arguments[1].Value), index, index with { Size = 8 });
                return OffsetPointer(pointer, offset, elementSize, negate: method.Name == "Subtract");
            }

            case "AsPointer" when arguments.Length == 1:
                return EmitAddress(arguments[0].Value) is { } address ? AddressToValue(address) : Operand.Imm(0);

            case "InitBlock" or "InitBlockUnaligned" when arguments.Length == 3:
            {
                if (Location(arguments[0]) is not { } destination || BlockSize(arguments[2], syntax) is not { } size)
                    return Operand.Imm(0);
                if (arguments[1].Value.ConstantValue is not { HasValue: true, Value: byte fill })
                {
                    return Fail(DiagnosticCatalog.UnsupportedConstruct, arguments[1].Syntax, "A fill byte that is not a constant",
                        "InitBlock is unrolled into stores of a constant pattern");
                }
                Fill(destination, size, fill, syntax);
                return Operand.Imm(0);
            }

            case "CopyBlock" or "CopyBlockUnaligned" when arguments.Length == 3:
            {
                if (Location(arguments[0]) is not { } destination || Location(arguments[1]) is not { } source ||
                    BlockSize(arguments[2], syntax) is not { } size)
                {
                    return Operand.Imm(0);
                }
                // Nothing is known of the pointers' alignment, and the verifier refuses misaligned stack accesses.
                Copy(destination, source, size, syntax, otherAlignment: 1);
                return Operand.Imm(0);
            }
        }

        return Fail(DiagnosticCatalog.UnsupportedCall, syntax, method.ToDisplayString(), SupportedUnsafe);
    }

    private Operand RejectMemoryMarshal(IInvocationOperation invocation) =>
        Fail(DiagnosticCatalog.UnsupportedCall, invocation.Syntax, invocation.TargetMethod.ToDisplayString(),
            "spans are not supported in eBPF code; read and write through pointers (*(T*)p, Unsafe.ReadUnaligned<T>(p), Unsafe.WriteUnaligned(p, value))");

    /// <summary>Where a pointer argument (void*, T*) or a ref argument (ref T, ref byte) points.</summary>
    private Address? Location(IArgumentOperation argument) =>
        argument.Parameter?.RefKind is RefKind.Ref or RefKind.In or RefKind.RefReadOnlyParameter
            ? EmitAddress(argument.Value)
            : new Address(EvalToRegister(argument.Value), 0);

    private int? BlockSize(IArgumentOperation argument, SyntaxNode syntax)
    {
        if (argument.Value.ConstantValue is { HasValue: true, Value: uint size } && size <= MaxBlockBytes)
            return (int)size;
        Report(DiagnosticCatalog.UnsupportedConstruct, argument.Syntax, "A block size that is not a constant up to 512",
            "block operations are unrolled into loads and stores");
        return null;
    }

    /// <summary>
    /// Stores of a repeated byte, as wide as the alignment allows: r10's offsets say it, any other base is taken to be
    /// <paramref name="otherAlignment"/>-aligned (a block of unknown address: 1). <paramref name="syntax"/>, where
    /// the address comes from the user's code, is where an offset out of range is reported.
    /// </summary>
    private void Fill(Address destination, int size, byte fill, SyntaxNode? syntax, int otherAlignment = 1)
    {
        for (var offset = 0; offset < size;)
        {
            var at = destination with { Offset = destination.Offset + offset };
            var chunk = Chunk(size - offset, at, otherAlignment);
            ulong pattern = 0;
            for (var i = 0; i < chunk; i++)
                pattern = (pattern << 8) | fill;
            if (syntax is not null && !FitsOffset(at, syntax))
                return;
            // Store immediates are 32-bit and sign-extended: a wider pattern goes through a register.
            var value = chunk == 8 && unchecked((long)pattern) is < int.MinValue or > int.MaxValue
                ? Operand.Reg(ToRegister(Operand.Imm(unchecked((long)pattern))))
                : Operand.Imm(unchecked((int)(uint)pattern));
            Emit(new StoreInstr(at.Base, (short)at.Offset, Ir.SizeForBytes(chunk), value));
            offset += chunk;
        }
    }
}

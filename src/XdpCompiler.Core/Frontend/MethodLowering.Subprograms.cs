using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Diagnostics;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Frontend;

// BPF-to-BPF calls. Calls are inlined by default, because inlined code is what the verifier tracks best; a method
// marked [MethodImpl(MethodImplOptions.NoInlining)] is compiled once, as a function in .text, and called with the
// eBPF convention: arguments in R1-R5, the result in R0, R1-R5 clobbered, R6-R9 and the frame preserved. The
// verifier follows static functions with the caller's register state, so packet pointers keep their checked range
// and a passed XdpContext stays the context.
internal sealed partial class MethodLowering
{
    private const int NoInliningFlag = 8; // System.Runtime.CompilerServices.MethodImplOptions.NoInlining
    private const int MaxSubprogramArguments = 5;

    private readonly List<IMethodSymbol> _calledSubprograms = new();

    /// <summary>Lowering an out-of-line method: its returns are its own, not the program's (no tail calls there).</summary>
    private bool _isSubprogram;

    /// <summary>The out-of-line methods this function calls, in call order, each once.</summary>
    public IReadOnlyList<IMethodSymbol> CalledSubprograms => _calledSubprograms;

    /// <summary>True for a method the developer asked to keep out of line.</summary>
    public static bool IsOutOfLine(IMethodSymbol method) =>
        (method.PartialImplementationPart ?? method).OriginalDefinition.GetAttributes().Any(a =>
            a.AttributeClass?.ToDisplayString() == "System.Runtime.CompilerServices.MethodImplAttribute" &&
            a.ConstructorArguments.FirstOrDefault().Value is { } value && (System.Convert.ToInt32(value) & NoInliningFlag) != 0);

    /// <summary>
    /// The ELF symbol of an out-of-line method: class and method name, an overload's position among same-named methods,
    /// and the type arguments of a generic one, so each compiled body has one name in the object.
    /// </summary>
    public static string SubprogramSymbol(IMethodSymbol method)
    {
        var original = method.OriginalDefinition;
        var name = original.ContainingType.Name + "_" + original.Name;
        var overloads = original.ContainingType.GetMembers(original.Name).OfType<IMethodSymbol>().ToList();
        if (overloads.Count > 1)
            name += "_" + overloads.FindIndex(m => SymbolEqualityComparer.Default.Equals(m, original));
        foreach (var argument in method.TypeArguments)
            name += "_" + argument.ToDisplayString();
        return new string(name.Select(c => c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' ? c : '_').ToArray());
    }

    private Operand EmitSubprogramCall(IInvocationOperation invocation, IMethodSymbol method)
    {
        var syntax = invocation.Syntax;
        if (invocation.Arguments.Length > MaxSubprogramArguments)
        {
            return Fail(DiagnosticCatalog.UnsupportedCall, syntax, method.ToDisplayString(),
                $"a BPF-to-BPF call passes at most {MaxSubprogramArguments} arguments (R1-R5); pass a pointer to a struct, or let it be inlined");
        }

        var returnType = Resolve(method.ReturnType);
        if (!method.ReturnsVoid && !TypeLayout.TryGetScalar(returnType, out _))
        {
            return Fail(DiagnosticCatalog.UnsupportedConstruct, syntax, $"Returning a {returnType.ToDisplayString()} from an out-of-line method",
                "a BPF-to-BPF call returns one register; return the struct through an out parameter or a pointer");
        }

        var arguments = new List<Operand>();
        foreach (var argument in invocation.Arguments.OrderBy(a => a.Parameter!.Ordinal))
        {
            var parameter = argument.Parameter!;
            var type = Resolve(parameter.Type);
            if (type.ToDisplayString() == ContextType)
            {
                if (argument.Value is IParameterReferenceOperation p && _contextParameters.Contains(p.Parameter))
                    arguments.Add(Operand.Reg(CopyOf(_context)));
                else
                    Report(DiagnosticCatalog.UnsupportedConstruct, argument.Syntax, "This context argument", "pass the program's own XdpContext parameter");
                continue;
            }

            if (parameter.RefKind != RefKind.None)
            {
                // The callee works on the caller's location through its address: a stack slot of the caller's frame,
                // a packet or map-value field.
                if (EmitAddress(argument.Value) is { } location)
                    arguments.Add(Operand.Reg(ToRegister(AddressToValue(location))));
                continue;
            }

            if (!TypeLayout.TryGetScalar(type, out _) && _layout.GetStruct(type) is not null)
            {
                // By value: a copy in the caller's frame, passed by address; the callee's writes stay in the copy.
                var size = _layout.SizeOf(type)!.Value;
                var slot = new Address(Reg.R10, _function.AllocateStack((size + 7) & ~7, 8));
                StoreStruct(argument.Value, slot, type, argument.Syntax);
                arguments.Add(Operand.Reg(ToRegister(AddressToValue(slot))));
                continue;
            }

            if (!CheckScalar(type, argument.Syntax, out _))
                continue;
            var value = Eval(argument.Value);
            arguments.Add(value.IsImmediate ? value : Operand.Reg(CopyOf(value.Register)));
        }

        if (!_calledSubprograms.Any(m => SymbolEqualityComparer.Default.Equals(m, method)))
            _calledSubprograms.Add(method);
        _source = Locations.Of(syntax);
        for (var i = 0; i < arguments.Count; i++)
            Assign(Reg.R1 + i, arguments[i]);
        Emit(new CallInstr(-1, arguments.Count) { Subprogram = SubprogramSymbol(method) });
        if (method.ReturnsVoid || !CheckScalar(returnType, syntax, out var returned))
            return Operand.Imm(0);
        // The callee leaves its value in canonical form (§2 of docs/language.md): 32-bit types in the low half.
        var result = _function.NewRegister();
        Emit(returned.Size == 8 ? new MovInstr(result, Reg.R0, Width.W64) : new ExtendInstr(result, Reg.R0, 32, Signed: false, Width.W32));
        return Operand.Reg(result);
    }

    /// <summary>
    /// Lowers an out-of-line method as a function of its own: parameters arrive in R1-R5 (a struct or ref parameter as
    /// the address of the caller's memory), the result leaves in R0.
    /// </summary>
    public IrFunction LowerSubprogram(IOperation body)
    {
        _isSubprogram = true;
        var original = _method.OriginalDefinition;
        for (var i = 0; i < original.TypeParameters.Length; i++)
            _typeArguments[original.TypeParameters[i]] = Resolve(_method.TypeArguments[i]);
        _contextParameters.Clear();
        for (var i = 0; i < _method.Parameters.Length; i++)
        {
            var parameter = _method.Parameters[i];
            var incoming = _function.NewRegister();
            Emit(new MovInstr(incoming, Reg.R1 + i, Width.W64));
            var type = Resolve(parameter.Type);
            if (type.ToDisplayString() == ContextType)
            {
                _context = incoming;
                _contextParameters.Add(parameter);
                _contextParameters.Add(parameter.OriginalDefinition);
            }
            else if (parameter.RefKind != RefKind.None || (!TypeLayout.TryGetScalar(type, out _) && _layout.GetStruct(type) is not null))
            {
                _memoryParameters[parameter.OriginalDefinition] = new Address(incoming, 0);
            }
            else
            {
                _parameters[parameter.OriginalDefinition] = incoming;
            }
        }

        ScanAddressTaken(body);
        EmitStatement(body);
        if (_current.Terminator is null)
        {
            // The end of a void method, or the dead block after the last return.
            Emit(new ConstInstr(Reg.R0, 0));
            _current.Terminator = new ExitTerm();
        }

        _function.RemoveUnreachableBlocks();
        CheckDivisors();
        return _function;
    }
}

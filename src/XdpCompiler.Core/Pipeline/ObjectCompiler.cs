using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using XdpCompiler.Core.Backend;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Diagnostics;
using XdpCompiler.Core.Elf;
using XdpCompiler.Core.Frontend;
using XdpCompiler.Core.IR;
using XdpCompiler.Core.Model;
using XdpCompiler.Core.Objects;
using XdpCompiler.Core.Optimize;

namespace XdpCompiler.Core.Pipeline;

/// <summary>Where the generated partial class goes: the object class's namespace, name and declared modifiers.</summary>
public sealed record ObjectClassInfo(string Namespace, string Name, string MetadataName, bool IsPartial, bool IsStatic, string Accessibility);

/// <summary>One compiled program and everything its object needs from its class, as equatable plain data.</summary>
public sealed record CompiledProgram(
    ObjectClassInfo Class,
    string License,
    string MethodName,
    string Name,
    string Section,
    EquatableArray<Instruction> Code,
    EquatableArray<BpfRelocation> Relocations,
    EquatableArray<BpfLineInfo> Lines,
    EquatableArray<MapSpec> Maps,
    EquatableArray<GlobalSpec> Globals,
    EquatableArray<XdpDiagnostic> Diagnostics)
{
    public bool Failed => Diagnostics.Any(d => d.Severity == XdpSeverity.Error);

    /// <summary>The program's libxdp run config, from <c>[XdpRunConfig]</c>; null without one.</summary>
    public BpfRunConfig? RunConfig { get; init; }

    /// <summary>The out-of-line methods the program calls (directly or through each other), as <c>.text</c> functions.</summary>
    public EquatableArray<CompiledFunction> Subprograms { get; init; } = EquatableArray<CompiledFunction>.Empty;
}

/// <summary>One compiled <c>[MethodImpl(NoInlining)]</c> method: a BPF-to-BPF call target in <c>.text</c>.</summary>
public sealed record CompiledFunction(string Name, EquatableArray<Instruction> Code, EquatableArray<BpfRelocation> Relocations, EquatableArray<BpfLineInfo> Lines);

/// <summary>An object's ELF bytes (null when any program failed) and the diagnostics of linking it.</summary>
public sealed record CompiledObject(ObjectClassInfo Class, byte[]? Elf, BpfObject? Object, ImmutableArray<XdpDiagnostic> Diagnostics);

/// <summary>
/// The compiler's entry points. The generator, the CLI and the tests all call these, so every path produces the same
/// bytes from the same source.
/// </summary>
public static class ObjectCompiler
{
    public const string ProgramAttribute = "XdpCompiler.XdpProgramAttribute";

    /// <summary>The XDP section names libbpf's section table knows (and our loader gives the same meaning).</summary>
    private static readonly string[] XdpSections = ["xdp", "xdp.frags", "xdp/devmap", "xdp/cpumap", "xdp.frags/devmap", "xdp.frags/cpumap"];
    private const string LicenseAttribute = "XdpCompiler.XdpLicenseAttribute";
    private const string ContextType = "XdpCompiler.XdpContext";
    private const string ActionType = "XdpCompiler.XdpAction";

    /// <summary>Compiles one [XdpProgram] method. Never throws for bad input: problems come back as diagnostics.</summary>
    public static CompiledProgram CompileProgram(IMethodSymbol method, Compilation compilation, CancellationToken cancellationToken,
        CompilerOptions? options = null)
    {
        options ??= CompilerOptions.Default;
        var owner = method.ContainingType;
        var classInfo = DescribeClass(owner);
        var attribute = method.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == ProgramAttribute);
        var name = attribute?.ConstructorArguments.FirstOrDefault().Value as string ?? method.Name;
        var section = attribute?.NamedArguments.FirstOrDefault(a => a.Key == "Section").Value.Value as string ?? "xdp";
        var license = owner.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == LicenseAttribute)
            ?.ConstructorArguments.FirstOrDefault().Value as string ?? "GPL";
        var diagnostics = new List<XdpDiagnostic>();
        BpfRunConfig? runConfig = null;

        CompiledProgram Result(IEnumerable<Instruction>? code = null, IEnumerable<BpfRelocation>? relocations = null,
            IEnumerable<BpfLineInfo>? lines = null, IEnumerable<MapSpec>? maps = null, IEnumerable<GlobalSpec>? globals = null) => new(
            classInfo, license, method.Name, name, section,
            (code ?? Enumerable.Empty<Instruction>()).ToEquatableArray(),
            (relocations ?? Enumerable.Empty<BpfRelocation>()).ToEquatableArray(),
            (lines ?? Enumerable.Empty<BpfLineInfo>()).ToEquatableArray(),
            (maps ?? Enumerable.Empty<MapSpec>()).ToEquatableArray(),
            (globals ?? Enumerable.Empty<GlobalSpec>()).ToEquatableArray(),
            diagnostics.ToEquatableArray()) { RunConfig = runConfig };

        try
        {
            CheckClass(owner, diagnostics);
            if (!CheckSignature(method, name, diagnostics))
                return Result();
            if (Array.IndexOf(XdpSections, section) < 0)
            {
                // libbpf 1.x matches these exactly; "xdp/anything" was legacy and strict mode refuses it.
                var at = attribute?.ApplicationSyntaxReference?.GetSyntax(cancellationToken) is { } attributeSyntax ? Locations.Of(attributeSyntax) : Locations.Of(method);
                diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.UnloadableSection, at, name, section));
                return Result();
            }
            runConfig = RunConfigReader.Read(method, name, section, diagnostics);

            var layout = new TypeLayout();
            var maps = MapCatalog.Collect(owner, compilation, layout, diagnostics, cancellationToken);
            var globals = GlobalCatalog.Collect(owner, compilation, layout, diagnostics, cancellationToken);
            var syntax = method.DeclaringSyntaxReferences.Select(r => r.GetSyntax(cancellationToken)).OfType<MethodDeclarationSyntax>().FirstOrDefault();
            if (syntax is null || (syntax.Body is null && syntax.ExpressionBody is null))
            {
                diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.InvalidProgramSignature, Locations.Of(method), name, "it has no body"));
                return Result(maps: maps);
            }

            var model = compilation.GetSemanticModel(syntax.SyntaxTree);
            var body = model.GetOperation(syntax, cancellationToken);
            if (body is null)
            {
                diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.InvalidProgramSignature, Locations.Of(method), name, "its body does not bind"));
                return Result(maps: maps);
            }

            var lowering = new MethodLowering(method, name, section, license, options, compilation, layout, maps.ToDictionary(m => m.Name), globals.ToDictionary(g => g.Name), diagnostics);
            var function = lowering.Lower(body);
            if (diagnostics.Any(d => d.Severity == XdpSeverity.Error))
                return Result(maps: maps);

            if (Generate(function, name, syntax, compilation, options, diagnostics) is not { } main)
                return Result(maps: maps);
            var subprograms = CompileSubprograms(lowering, function.StackSize, method, name, section, license, options, compilation, layout, maps, globals, diagnostics, cancellationToken);
            if (subprograms is null)
                return Result(maps: maps);
            return Result(main.Code, main.Relocations, main.Lines, maps, globals) with { Subprograms = subprograms.ToEquatableArray() };
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception e)
        {
            // A compiler bug must still reach the user as a diagnostic, never as a silently missing program.
            diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.InternalError, Locations.Of(method), name, $"{e.GetType().Name}: {e.Message}"));
            return Result();
        }
    }

    /// <summary>Optimizes, allocates registers and emits one lowered function; null (with a diagnostic) when it cannot.</summary>
    private static CompiledFunction? Generate(IrFunction function, string name, MethodDeclarationSyntax syntax, Compilation compilation,
        CompilerOptions options, List<XdpDiagnostic> diagnostics)
    {
        AddressFolding.Run(function);
        RedundancyElimination.Run(function);
        CopyPropagation.Run(function);
        RedundancyElimination.Run(function);
        ConstantPropagation.Run(function);
        Peephole.Run(function);
        SwapCompareFolding.Run(function);
        DeadCodeElimination.Run(function);
        BitTestFolding.Run(function);
        DemandedBits.Run(function);
        CopyPropagation.RunLocal(function);
        DeadCodeElimination.Run(function);
        CfgSimplification.Run(function);
        CopyPropagation.RunLocal(function);
        DeadCodeElimination.Run(function);
        CopyPropagation.Run(function);
        DeadCodeElimination.Run(function);
        RangeFolding.Run(function);
        BitTestFolding.Run(function);
        BranchImplication.Run(function);
        DemandedBits.Run(function);
        DeadCodeElimination.Run(function);
        CfgSimplification.Run(function);
        CopyCoalescing.Run(function);
        BitTestIfConversion.Run(function);
        CfgSimplification.Run(function);
        ReturnMerging.Run(function);
        ReturnHoisting.Run(function);
        ConstantDiamonds.Run(function);
        BooleanBranchMerging.Run(function);
        RangeChecks.Run(function);
        CallSinking.Run(function);
        CodeSinking.Run(function);
        LoadStoreMotion.Run(function);
        OperandCommutation.Run(function);
        BlockLayout.Run(function);

        Dictionary<int, int> colours;
        try
        {
            colours = RegisterAllocator.Allocate(function);
        }
        catch (RegisterAllocationException e)
        {
            diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.RegisterAllocationFailed, Locations.Of(syntax.Identifier.GetLocation()), name, e.Message));
            return null;
        }

        RedundantConstants.Run(function, colours);
        EmptyBlockThreading.Run(function, colours);
        if (function.StackSize > 512)
        {
            diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.StackTooLarge, Locations.Of(syntax.Identifier.GetLocation()), name, function.StackSize));
            return null;
        }

        var (code, relocations, sources) = CodeEmitter.Emit(function, colours, options);
        return new CompiledFunction(name, code.ToEquatableArray(), relocations.ToEquatableArray(), LineTable(sources, syntax, compilation).ToEquatableArray());
    }

    /// <summary>The kernel's limit on nested BPF-to-BPF calls (MAX_CALL_FRAMES, the program's own frame included).</summary>
    private const int MaxCallFrames = 8;

    /// <summary>
    /// Compiles every out-of-line method reachable from the program, each once, and checks what the verifier checks
    /// of the call graph: no recursion, at most 8 frames, and at most 512 bytes of stack summed along any call chain
    /// (each frame rounded up to 32 bytes, as the kernel counts). Null when a diagnostic was reported.
    /// </summary>
    private static List<CompiledFunction>? CompileSubprograms(MethodLowering program, int programStack, IMethodSymbol programMethod, string programName,
        string section, string license, CompilerOptions options, Compilation compilation, TypeLayout layout, IReadOnlyList<MapSpec> maps, IReadOnlyList<GlobalSpec> globals,
        List<XdpDiagnostic> diagnostics, CancellationToken cancellationToken)
    {
        if (program.CalledSubprograms.Count == 0)
            return new List<CompiledFunction>();

        var compiled = new Dictionary<string, CompiledFunction>(StringComparer.Ordinal);
        var callees = new Dictionary<string, List<string>>(StringComparer.Ordinal) { [programName] = program.CalledSubprograms.Select(MethodLowering.SubprogramSymbol).ToList() };
        var stack = new Dictionary<string, int>(StringComparer.Ordinal) { [programName] = programStack };
        var methods = new Dictionary<string, IMethodSymbol>(StringComparer.Ordinal) { [programName] = programMethod };
        var pending = new Queue<IMethodSymbol>(program.CalledSubprograms);
        var mapTable = maps.ToDictionary(m => m.Name);
        var globalTable = globals.ToDictionary(g => g.Name);
        while (pending.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var method = pending.Dequeue();
            var symbol = MethodLowering.SubprogramSymbol(method);
            if (methods.ContainsKey(symbol))
                continue;
            methods[symbol] = method;
            // The caller only emits a call to a method with a body, so there is one.
            var syntax = MethodLowering.FindBody(method)!;
            if (compilation.GetSemanticModel(syntax.SyntaxTree).GetOperation(syntax, cancellationToken) is not { } body)
            {
                diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.UnsupportedCall, Locations.Of(method), method.ToDisplayString(), "its body does not bind"));
                return null;
            }

            var lowering = new MethodLowering(method, symbol, section, license, options, compilation, layout, mapTable, globalTable, diagnostics);
            var function = lowering.LowerSubprogram(body);
            if (diagnostics.Any(d => d.Severity == XdpSeverity.Error))
                return null;
            callees[symbol] = lowering.CalledSubprograms.Select(MethodLowering.SubprogramSymbol).ToList();
            foreach (var callee in lowering.CalledSubprograms)
                pending.Enqueue(callee);
            if (Generate(function, symbol, syntax, compilation, options, diagnostics) is not { } code)
                return null;
            compiled[symbol] = code;
            stack[symbol] = function.StackSize;
        }

        // Depth-first over the call graph from the program: a name already on the path is recursion.
        var path = new List<string>();
        bool Walk(string function, int depthBytes)
        {
            var frame = (Math.Max(stack[function], 1) + 31) / 32 * 32;
            depthBytes += frame;
            path.Add(function);
            try
            {
                var location = Locations.Of(methods[function]);
                if (path.Count > MaxCallFrames)
                {
                    diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.InlineDepth, location, methods[function].ToDisplayString(), path.Count, MaxCallFrames));
                    return false;
                }
                if (depthBytes > 512)
                {
                    diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.StackTooLarge, Locations.Of(programMethod), programName + " (calls " + string.Join(" → ", path.Skip(1)) + ")", depthBytes));
                    return false;
                }
                foreach (var callee in callees[function])
                {
                    if (path.Contains(callee))
                    {
                        diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.Recursion, Locations.Of(methods[callee]), methods[callee].ToDisplayString()));
                        return false;
                    }
                    if (!Walk(callee, depthBytes))
                        return false;
                }
                return true;
            }
            finally
            {
                path.RemoveAt(path.Count - 1);
            }
        }

        return Walk(programName, 0) ? compiled.Values.OrderBy(f => f.Name, StringComparer.Ordinal).ToList() : null;
    }

    /// <summary>Puts an object's compiled programs and its maps into one BPF object and its ELF bytes.</summary>
    public static CompiledObject Link(IReadOnlyList<CompiledProgram> programs)
    {
        var first = programs[0];
        var diagnostics = programs.SelectMany(p => p.Diagnostics).Distinct().ToImmutableArray();
        if (programs.Any(p => p.Failed) || !first.Class.IsPartial)
            return new CompiledObject(first.Class, null, null, diagnostics);

        var types = new BtfTypeBuilder();
        var maps = first.Maps
            .Select(m => (HasBtfKeyValue(m.Type)
                    ? new BpfMap(m.Name, m.Type, (uint)m.KeySize, (uint)m.ValueSize, m.MaxEntries, m.Flags, types.Add(m.Key), types.Add(m.Value), (BpfMapPinning)m.Pinning)
                    // The kernel takes no BTF key/value types for these; the object declares their sizes instead.
                    : new BpfMap(m.Name, m.Type, (uint)m.KeySize, (uint)m.ValueSize, m.MaxEntries, m.Flags, Pinning: (BpfMapPinning)m.Pinning))
                with
                {
                    InitialPrograms = m.InitialPrograms.Count == 0 ? default : m.InitialPrograms.AsImmutableArray().Select(p => (string?)p).ToImmutableArray(),
                })
            .ToImmutableArray();
        // Programs that call the same out-of-line method compiled the same code for it: .text gets it once.
        var subprograms = programs.SelectMany(p => p.Subprograms)
            .GroupBy(f => f.Name, StringComparer.Ordinal).Select(g => g.First())
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .Select(f => new BpfProgram(f.Name, ".text", f.Code.AsImmutableArray(), f.Relocations.AsImmutableArray(), f.Lines.AsImmutableArray()));
        var bpfPrograms = programs
            .Select(p => new BpfProgram(p.Name, p.Section, p.Code.AsImmutableArray(), p.Relocations.AsImmutableArray(), p.Lines.AsImmutableArray()))
            .Concat(subprograms)
            .ToImmutableArray();
        var sections = first.Globals
            .GroupBy(g => g.Section)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(section =>
            {
                var contents = new byte[(section.Max(g => g.Offset + g.Size) + 7) & ~7];
                foreach (var global in section)
                    global.Initial.AsImmutableArray().CopyTo(contents, global.Offset);
                var variables = section.Select(g => new BpfGlobalVariable(g.Name, g.Offset, g.Size, types.Add(g.Type))).ToImmutableArray();
                return new BpfDataSection(section.Key, contents.ToImmutableArray(), variables);
            })
            .ToImmutableArray();
        var obj = new BpfObject(first.Class.Name, first.License, bpfPrograms, maps, types.Build())
        {
            DataSections = sections,
            RunConfigs = programs.Select(p => p.RunConfig).OfType<BpfRunConfig>().ToImmutableArray(),
        };
        try
        {
            return new CompiledObject(first.Class, ElfObjectWriter.Write(obj), obj, diagnostics);
        }
        catch (Exception e)
        {
            return new CompiledObject(first.Class, null, obj, diagnostics.Add(
                XdpDiagnostic.Create(DiagnosticCatalog.InternalError, null, first.Class.Name, $"writing the ELF object failed: {e.Message}")));
        }
    }

    /// <summary>Map types whose kernel maps take BTF key and value types (device, CPU, socket and program maps and ring buffers do not).</summary>
    private static bool HasBtfKeyValue(BpfMapType type) => type is BpfMapType.Hash or BpfMapType.Array or BpfMapType.PerCpuHash
        or BpfMapType.PerCpuArray or BpfMapType.LruHash or BpfMapType.LruPerCpuHash or BpfMapType.LpmTrie;

    /// <summary>Compiles every [XdpProgram] method of a compilation, grouped into one object per class (CLI and tests).</summary>
    public static ImmutableArray<CompiledObject> CompileAll(Compilation compilation, CancellationToken cancellationToken = default,
        CompilerOptions? options = null)
    {
        var programs = new List<CompiledProgram>();
        foreach (var tree in compilation.SyntaxTrees)
        {
            var model = compilation.GetSemanticModel(tree);
            foreach (var declaration in tree.GetRoot(cancellationToken).DescendantNodes().OfType<MethodDeclarationSyntax>())
            {
                if (model.GetDeclaredSymbol(declaration, cancellationToken) is IMethodSymbol method &&
                    method.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == ProgramAttribute))
                {
                    programs.Add(CompileProgram(method, compilation, cancellationToken, options));
                }
            }
        }

        return programs.GroupBy(p => p.Class).Select(g => Link(g.ToList())).ToImmutableArray();
    }

    private static ObjectClassInfo DescribeClass(INamedTypeSymbol owner)
    {
        var partial = owner.DeclaringSyntaxReferences.Any(r =>
            r.GetSyntax() is TypeDeclarationSyntax t && t.Modifiers.Any(m => m.ValueText == "partial"));
        var ns = owner.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() : "";
        var accessibility = owner.DeclaredAccessibility == Microsoft.CodeAnalysis.Accessibility.Public ? "public" : "internal";
        return new ObjectClassInfo(ns, owner.Name, owner.ToDisplayString(), partial && owner.ContainingType is null, owner.IsStatic, accessibility);
    }

    private static void CheckClass(INamedTypeSymbol owner, List<XdpDiagnostic> diagnostics)
    {
        var info = DescribeClass(owner);
        if (!info.IsPartial || !info.IsStatic)
            diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.ClassNotPartial, Locations.Of(owner), owner.Name));
    }

    private static bool CheckSignature(IMethodSymbol method, string name, List<XdpDiagnostic> diagnostics)
    {
        string? problem = null;
        if (!method.IsStatic)
            problem = "it is not static";
        else if (method.ReturnType.ToDisplayString() != ActionType)
            problem = $"it returns '{method.ReturnType.ToDisplayString()}'";
        else if (method.Parameters.Length != 1 || method.Parameters[0].Type.ToDisplayString() != ContextType)
            problem = "it must take exactly one XdpContext parameter";
        else if (method.IsGenericMethod)
            problem = "it is generic";
        else if (method.IsAsync)
            problem = "it is async";
        else if (string.IsNullOrEmpty(name) || name.Any(c => !(char.IsLetterOrDigit(c) || c == '_')))
            problem = $"'{name}' is not a valid ELF symbol name";
        if (problem is null)
            return true;
        diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.InvalidProgramSignature, Locations.Of(method), name, problem));
        return false;
    }

    /// <summary>One line-info record where the C# position changes, and always one at the first instruction.</summary>
    private static ImmutableArray<BpfLineInfo> LineTable(ImmutableArray<(int Index, SourceSpan Span)> sources, MethodDeclarationSyntax method, Compilation compilation)
    {
        var texts = new Dictionary<string, Microsoft.CodeAnalysis.Text.SourceText>();
        string LineText(SourceSpan span)
        {
            if (!texts.TryGetValue(span.FilePath, out var text))
            {
                text = compilation.SyntaxTrees.FirstOrDefault(t => t.FilePath == span.FilePath)?.GetText() ?? method.SyntaxTree.GetText();
                texts[span.FilePath] = text;
            }

            return span.StartLine < text.Lines.Count ? text.Lines[span.StartLine].ToString().Trim() : "";
        }

        var result = ImmutableArray.CreateBuilder<BpfLineInfo>();
        if (sources.IsDefaultOrEmpty || sources[0].Index != 0)
        {
            var start = Locations.Of(method.Identifier.GetLocation())!;
            result.Add(new BpfLineInfo(0, start.FilePath, start.StartLine + 1, start.StartColumn + 1, LineText(start)));
        }

        foreach (var (index, span) in sources)
        {
            if (result.Count > 0 && (result[result.Count - 1].Line == span.StartLine + 1 && result[result.Count - 1].Column == span.StartColumn + 1 ||
                result[result.Count - 1].InstructionIndex == index))
            {
                continue;
            }

            result.Add(new BpfLineInfo(index, span.FilePath, span.StartLine + 1, span.StartColumn + 1, LineText(span)));
        }

        return result.ToImmutable();
    }
}

using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using XdpCompiler.Core.Model;
using XdpCompiler.Core.Pipeline;

namespace XdpCompiler.Generators;

/// <summary>
/// The pipeline only: compile each [XdpProgram] method (cached per method on equatable results), group programs by
/// class, link each group into an ELF object. Source and diagnostics are separate outputs, so a diagnostic that moves
/// does not re-emit source.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class XdpGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // Discovery is cached per method. Compiling depends on the whole compilation, because a program inlines the
        // static methods it calls from any file; the compiled result is equatable, so an edit that does not change it
        // stops here and nothing downstream (linking, emitting) runs again.
        var programIds = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                ObjectCompiler.ProgramAttribute,
                static (node, _) => node is MethodDeclarationSyntax,
                static (ctx, _) => ctx.TargetSymbol is IMethodSymbol method ? DocumentationCommentId.CreateDeclarationId(method) : null)
            .Where(static id => id is not null)
            .Select(static (id, _) => id!)
            .WithTrackingName(TrackingNames.FindPrograms);

        var options = context.AnalyzerConfigOptionsProvider
            .Select(static (provider, _) => CompilerOptions.Parse(
                provider.GlobalOptions.TryGetValue("build_property.XdpCpu", out var cpu) ? cpu : null));

        var programs = programIds
            .Combine(context.CompilationProvider)
            .Combine(options)
            .Select(static (input, ct) => DocumentationCommentId.GetFirstSymbolForDeclarationId(input.Left.Left, input.Left.Right) is IMethodSymbol method
                ? ObjectCompiler.CompileProgram(method, input.Left.Right, ct, input.Right)
                : null)
            .Where(static p => p is not null)
            .Select(static (p, _) => p!)
            .WithTrackingName(TrackingNames.CompileProgram);

        var objects = programs
            .Collect()
            .SelectMany(static (all, _) => all.GroupBy(p => p.Class).Select(g => g.OrderBy(p => p.Name, StringComparer.Ordinal).ToEquatableArray()))
            .WithTrackingName(TrackingNames.GroupObjects)
            .Select(static (group, _) => LinkObject(group))
            .WithTrackingName(TrackingNames.LinkObject);

        context.RegisterSourceOutput(programs.Select(static (p, _) => p.Diagnostics), static (spc, diagnostics) => Report(spc, diagnostics));
        context.RegisterSourceOutput(objects.Select(static (o, _) => o.LinkDiagnostics), static (spc, diagnostics) => Report(spc, diagnostics));
        // The typed skeleton needs the runtime; a project that only builds objects (or tests them in .NET) gets none.
        var hasRuntime = context.CompilationProvider
            .Select(static (c, _) => c.GetTypeByMetadataName("XdpCompiler.Runtime.BpfObjectLoader") is not null);
        context.RegisterSourceOutput(objects.Where(static o => o.ElfBase64 is not null).Combine(hasRuntime), static (spc, o) => Emit(spc, o.Left, o.Right));
    }
}

public static class TrackingNames
{
    public const string FindPrograms = nameof(FindPrograms);
    public const string CompileProgram = nameof(CompileProgram);
    public const string GroupObjects = nameof(GroupObjects);
    public const string LinkObject = nameof(LinkObject);
}

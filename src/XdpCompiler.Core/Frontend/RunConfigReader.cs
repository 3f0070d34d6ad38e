using Microsoft.CodeAnalysis;
using XdpCompiler.Core.Diagnostics;
using XdpCompiler.Core.Objects;

namespace XdpCompiler.Core.Frontend;

/// <summary>
/// Reads <c>[XdpRunConfig(Priority = …, ChainCallActions = …)]</c> of an [XdpProgram] method into the libxdp run
/// config its object carries. Bad values become diagnostics at the attribute; an unset property takes libxdp's default.
/// </summary>
internal static class RunConfigReader
{
    public const string Attribute = "XdpCompiler.XdpRunConfigAttribute";

    /// <summary>libxdp formats <c>"_" + name</c> into a 100-byte buffer and refuses the program when it does not fit.</summary>
    private const int MaxNameLength = 98;

    public static BpfRunConfig? Read(IMethodSymbol method, string name, string section, List<XdpDiagnostic> diagnostics)
    {
        var attribute = method.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == Attribute);
        if (attribute is null)
            return null;
        var location = attribute.ApplicationSyntaxReference?.GetSyntax() is { } syntax ? Locations.Of(syntax) : Locations.Of(method);
        var errors = diagnostics.Count;
        void Report(string problem) => diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.InvalidRunConfig, location, name, problem));

        if (section is "xdp/devmap" or "xdp/cpumap" || section.StartsWith("xdp/devmap/", StringComparison.Ordinal) || section.StartsWith("xdp/cpumap/", StringComparison.Ordinal))
            Report($"the program is in section '{section}', so it runs after a redirect into a map, never in libxdp's dispatcher on an interface");
        if (name.Length > MaxNameLength)
            Report($"the program name has {name.Length} characters; libxdp finds the run config '_{name.Substring(0, 8)}…' only for names of at most {MaxNameLength}");

        var priority = BpfRunConfig.DefaultPriority;
        var actions = BpfRunConfig.DefaultChainCallActions;
        foreach (var argument in attribute.NamedArguments)
        {
            switch (argument.Key)
            {
                case "Priority" when argument.Value.Value is int value:
                    if (value < 0)
                        Report($"Priority is {value}; libxdp orders programs by a priority from 0 up (lower runs first, {BpfRunConfig.DefaultPriority} by default)");
                    else
                        priority = (uint)value;
                    break;
                case "ChainCallActions":
                    if (argument.Value.IsNull)
                    {
                        Report("ChainCallActions is null; list the actions after which the next program runs (an empty array for none)");
                        break;
                    }
                    actions = 0;
                    foreach (var element in argument.Value.Values)
                    {
                        var action = element.Value is uint a ? a : uint.MaxValue;
                        if (action >= (uint)BpfRunConfig.ActionNames.Length)
                            Report($"ChainCallActions contains {element.Value}, which is not an XDP action (Aborted, Drop, Pass, Tx or Redirect)");
                        else
                            actions |= 1u << (int)action;
                    }
                    break;
            }
        }
        return diagnostics.Count > errors ? null : new BpfRunConfig(name, priority, actions);
    }
}

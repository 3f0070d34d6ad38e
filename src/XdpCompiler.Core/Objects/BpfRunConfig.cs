using System.Collections.Immutable;

namespace XdpCompiler.Core.Objects;

/// <summary>
/// libxdp's run config for one program: where it sorts among the programs of one interface's dispatcher
/// (<see cref="Priority"/>, lower runs first) and which return actions let the dispatcher go on to the next program
/// (<see cref="ChainCallActions"/>, a bitmap with bit <c>1 &lt;&lt; action</c> per XDP action, as libxdp keeps it).
/// In the ELF it is the C macro <c>XDP_RUN_CONFIG(program)</c>: a variable <c>_program</c> in section
/// <c>.xdp_run_config</c> whose BTF struct has a <c>priority</c> member and one member per action, each an
/// <c>int (*name)[value]</c> whose array length is the value.
/// </summary>
public sealed record BpfRunConfig(string Program, uint Priority, uint ChainCallActions)
{
    /// <summary>libxdp's <c>XDP_DEFAULT_RUN_PRIO</c>, used for programs without a run config.</summary>
    public const uint DefaultPriority = 50;

    /// <summary>libxdp's <c>XDP_DEFAULT_CHAIN_CALL_ACTIONS</c>: go on after XDP_PASS only.</summary>
    public const uint DefaultChainCallActions = 1u << 2;

    /// <summary>The BTF member naming the priority.</summary>
    public const string PriorityMember = "priority";

    /// <summary>
    /// The XDP actions by value (the kernel's <c>enum xdp_action</c>), named as libxdp matches run-config members:
    /// XDP_ABORTED = 0 … XDP_REDIRECT = 4.
    /// </summary>
    public static ImmutableArray<string> ActionNames { get; } = ["XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT"];

    /// <summary>Every bit <see cref="ChainCallActions"/> may have set.</summary>
    public const uint AllActions = (1u << 5) - 1;

    /// <summary>The ELF symbol and BTF VAR libxdp looks the run config up by: the program's name after an underscore.</summary>
    public string SymbolName => "_" + Program;

    public bool ChainsOn(int action) => (ChainCallActions & (1u << action)) != 0;
}

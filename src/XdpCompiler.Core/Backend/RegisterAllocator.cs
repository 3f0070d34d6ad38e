using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Backend;

/// <summary>
/// Graph-colouring register allocation over the IR's virtual registers. Physical registers are pre-coloured nodes:
/// a call defines R0-R5, so anything live across it interferes with them and lands in R6-R9, as the ABI needs.
/// A register that finds no colour is spilled to an 8-byte stack slot (a full 64-bit spill keeps pointer types and
/// packet ranges intact for the verifier) and allocation runs again.
/// </summary>
internal static class RegisterAllocator
{
    private const int MaxRounds = 32;

    /// <summary>Colour preference: scratch registers first, callee-saved last (they are what survives calls).</summary>
    private static readonly int[] ColourOrder = { 1, 2, 3, 4, 5, 0, 6, 7, 8, 9 };

    /// <summary>Returns the physical register of every virtual register, rewriting the function for spills.</summary>
    public static Dictionary<int, int> Allocate(IrFunction function)
    {
        for (var round = 0; round < MaxRounds; round++)
        {
            var graph = Build(function);
            var colours = new Dictionary<int, int>();
            var failed = new List<int>();
            foreach (var node in graph.Nodes.Where(n => !Ir.IsPhysical(n)).OrderBy(n => n))
            {
                var forbidden = new HashSet<int>();
                foreach (var neighbour in graph.Neighbours(node))
                {
                    if (Ir.IsPhysical(neighbour))
                        forbidden.Add(neighbour);
                    else if (colours.TryGetValue(neighbour, out var c))
                        forbidden.Add(c);
                }

                int? chosen = null;
                foreach (var partner in graph.MovePartners(node))
                {
                    var colour = Ir.IsPhysical(partner) ? partner : colours.TryGetValue(partner, out var c) ? c : -1;
                    if (colour is >= 0 and < 10 && !forbidden.Contains(colour))
                    {
                        chosen = colour;
                        break;
                    }
                }

                chosen ??= ColourOrder.Cast<int?>().FirstOrDefault(c => !forbidden.Contains(c!.Value));
                if (chosen is { } found)
                    colours[node] = found;
                else
                    failed.Add(node);
            }

            if (failed.Count == 0)
                return colours;
            Spill(function, failed[0]);
        }

        throw new RegisterAllocationException($"still needs more than 10 registers after {MaxRounds} spills");
    }

    private static InterferenceGraph Build(IrFunction function)
    {
        var liveOut = Liveness.Compute(function);
        var graph = new InterferenceGraph();
        foreach (var block in function.Blocks)
        {
            var live = new HashSet<int>(liveOut[block]);
            foreach (var use in Liveness.Uses(block.Terminator))
            {
                live.Add(use);
                graph.AddNode(use);
            }

            for (var i = block.Instructions.Count - 1; i >= 0; i--)
            {
                var instruction = block.Instructions[i];
                var defs = Liveness.Defs(instruction);
                var moveSource = instruction is MovInstr { Width: Width.W64 } mov ? mov.Src : -1;
                foreach (var def in defs)
                {
                    graph.AddNode(def);
                    foreach (var other in live)
                    {
                        if (other != def && other != moveSource)
                            graph.AddEdge(def, other);
                    }
                }

                switch (instruction)
                {
                    case MovInstr m:
                        graph.AddMove(m.Dst, m.Src);
                        break;
                    case BinaryInstr b:
                        graph.AddMove(b.Dst, b.Left);
                        // Two-address form: "dst = left; dst op= right" must not clobber right before reading it.
                        if (!b.Right.IsImmediate && b.Right.Register != b.Left)
                            graph.AddEdge(b.Dst, b.Right.Register);
                        break;
                    case NegInstr n:
                        graph.AddMove(n.Dst, n.Src);
                        break;
                    case ExtendInstr e:
                        graph.AddMove(e.Dst, e.Src);
                        break;
                    case SwapInstr s:
                        graph.AddMove(s.Dst, s.Src);
                        break;
                }

                foreach (var def in defs)
                    live.Remove(def);
                foreach (var use in Liveness.Uses(instruction))
                {
                    live.Add(use);
                    graph.AddNode(use);
                }
            }
        }

        return graph;
    }

    private static void Spill(IrFunction function, int register)
    {
        var slot = function.AllocateStack(8, 8);
        foreach (var block in function.Blocks)
        {
            var rewritten = new List<IrInstr>();
            foreach (var instruction in block.Instructions)
            {
                var uses = Liveness.Uses(instruction).Contains(register);
                var defs = Liveness.Defs(instruction).Contains(register);
                if (!uses && !defs)
                {
                    rewritten.Add(instruction);
                    continue;
                }

                var temporary = function.NewRegister();
                if (uses)
                    rewritten.Add(new LoadInstr(temporary, Reg.R10, slot, MemSize.DW) { Source = instruction.Source });
                rewritten.Add(Liveness.Rename(instruction, register, temporary));
                if (defs)
                    rewritten.Add(new StoreInstr(Reg.R10, slot, MemSize.DW, Operand.Reg(temporary)) { Source = instruction.Source });
            }

            if (block.Terminator is { } terminator && Liveness.Uses(terminator).Contains(register))
            {
                var temporary = function.NewRegister();
                rewritten.Add(new LoadInstr(temporary, Reg.R10, slot, MemSize.DW) { Source = terminator.Source });
                block.Terminator = terminator is BranchTerm branch ? Liveness.Rename(branch, register, temporary) : terminator;
            }

            block.Instructions.Clear();
            block.Instructions.AddRange(rewritten);
        }
    }

    private sealed class InterferenceGraph
    {
        private readonly Dictionary<int, HashSet<int>> _edges = new();
        private readonly Dictionary<int, List<int>> _moves = new();

        public IEnumerable<int> Nodes => _edges.Keys;

        public void AddNode(int node)
        {
            if (node != Reg.R10 && !_edges.ContainsKey(node))
                _edges[node] = new HashSet<int>();
        }

        public void AddEdge(int a, int b)
        {
            if (a == Reg.R10 || b == Reg.R10 || a == b)
                return;
            AddNode(a);
            AddNode(b);
            _edges[a].Add(b);
            _edges[b].Add(a);
        }

        public void AddMove(int a, int b)
        {
            if (!_moves.TryGetValue(a, out var list))
                _moves[a] = list = new List<int>();
            list.Add(b);
            if (!_moves.TryGetValue(b, out list))
                _moves[b] = list = new List<int>();
            list.Add(a);
        }

        public IEnumerable<int> Neighbours(int node) => _edges.TryGetValue(node, out var set) ? set : Enumerable.Empty<int>();

        public IEnumerable<int> MovePartners(int node) => _moves.TryGetValue(node, out var list) ? list : Enumerable.Empty<int>();
    }
}

internal sealed class RegisterAllocationException : Exception
{
    public RegisterAllocationException(string message)
        : base(message)
    {
    }
}

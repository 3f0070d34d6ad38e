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

    private const int Colours = 10;

    /// <summary>Returns the physical register of every virtual register, rewriting the function for spills.</summary>
    public static Dictionary<int, int> Allocate(IrFunction function)
    {
        // Registers that carry a spilled value between its slot and one instruction: spilling them again gains nothing.
        var unspillable = new HashSet<int>();
        for (var round = 0; round < MaxRounds; round++)
        {
            var graph = Build(function);
            var weights = SpillWeights(function);
            var members = graph.Coalesce(Colours);
            var colours = new Dictionary<int, int>();
            var failed = new List<int>();
            var stack = SimplifyOrder(graph, weights, unspillable);
            for (var i = stack.Count - 1; i >= 0; i--)
            {
                var node = stack[i];
                if (Choose(graph, colours, node) is { } colour)
                    colours[node] = colour;
                else
                    failed.Add(node);
            }

            if (failed.Count == 0)
            {
                var result = new Dictionary<int, int>();
                foreach (var pair in members)
                {
                    foreach (var member in pair.Value.Where(m => !Ir.IsPhysical(m)))
                        result[member] = Ir.IsPhysical(pair.Key) ? pair.Key : colours[pair.Key];
                }

                return result;
            }

            // A failed node may stand for several coalesced registers: spill those that can be.
            var victims = failed.SelectMany(n => members[n]).Where(n => !Ir.IsPhysical(n) && !unspillable.Contains(n)).Distinct().ToList();
            if (victims.Count == 0)
            {
                // Only spill temporaries failed: free a register around them by spilling their costliest-to-keep neighbour.
                victims = failed.SelectMany(graph.Neighbours)
                    .Where(n => !Ir.IsPhysical(n))
                    .SelectMany(n => members[n])
                    .Where(n => !unspillable.Contains(n))
                    .OrderByDescending(n => graph.Degree(graph.Find(n)) / (1.0 + Weight(weights, n)))
                    .ThenBy(n => n)
                    .Take(1)
                    .ToList();
            }

            if (victims.Count == 0)
                break;
            foreach (var victim in victims)
                Spill(function, victim, unspillable);
        }

        throw new RegisterAllocationException($"still needs more than {Colours} registers after {MaxRounds} rounds of spilling");
    }

    /// <summary>
    /// Chaitin-Briggs simplification: repeatedly set aside a node with fewer than <see cref="Colours"/> neighbours
    /// (it will find a colour whatever they get); when none is left, set aside the node whose spilling would help most
    /// per use (many neighbours, few uses) and hope it still colours. Colouring then runs in reverse order.
    /// </summary>
    private static List<int> SimplifyOrder(InterferenceGraph graph, Dictionary<int, int> weights, HashSet<int> unspillable)
    {
        var remaining = new SortedSet<int>(graph.Nodes.Where(n => !Ir.IsPhysical(n)));
        var degree = remaining.ToDictionary(n => n, graph.Degree);
        var stack = new List<int>(remaining.Count);
        while (remaining.Count > 0)
        {
            int? pick = null;
            foreach (var node in remaining)
            {
                if (degree[node] < Colours)
                {
                    pick = node;
                    break;
                }
            }

            pick ??= remaining
                .OrderBy(n => unspillable.Contains(n) ? 1 : 0)
                .ThenByDescending(n => degree[n] / (1.0 + Weight(weights, n)))
                .ThenBy(n => n)
                .First();
            var chosen = pick.Value;
            remaining.Remove(chosen);
            stack.Add(chosen);
            foreach (var neighbour in graph.Neighbours(chosen))
            {
                if (remaining.Contains(neighbour))
                    degree[neighbour]--;
            }
        }

        return stack;
    }

    private static int? Choose(InterferenceGraph graph, Dictionary<int, int> colours, int node)
    {
        var forbidden = new HashSet<int>();
        foreach (var neighbour in graph.Neighbours(node))
        {
            if (Ir.IsPhysical(neighbour))
                forbidden.Add(neighbour);
            else if (colours.TryGetValue(neighbour, out var c))
                forbidden.Add(c);
        }

        foreach (var partner in graph.MovePartners(node))
        {
            var colour = Ir.IsPhysical(partner) ? partner : colours.TryGetValue(partner, out var c) ? c : -1;
            if (colour is >= 0 and < Colours && !forbidden.Contains(colour))
                return colour;
        }

        foreach (var colour in ColourOrder)
        {
            if (!forbidden.Contains(colour))
                return colour;
        }

        return null;
    }

    private static int Weight(Dictionary<int, int> weights, int register) => weights.TryGetValue(register, out var w) ? w : 0;

    /// <summary>How often each register is read or written: the cost of keeping it in memory instead.</summary>
    private static Dictionary<int, int> SpillWeights(IrFunction function)
    {
        var weights = new Dictionary<int, int>();
        foreach (var instruction in function.Blocks.SelectMany(b => b.Instructions))
        {
            foreach (var register in Liveness.Uses(instruction).Concat(Liveness.Defs(instruction)))
                weights[register] = Weight(weights, register) + 1;
        }

        foreach (var block in function.Blocks)
        {
            foreach (var register in Liveness.Uses(block.Terminator))
                weights[register] = Weight(weights, register) + 1;
        }

        return weights;
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

    private static void Spill(IrFunction function, int register, HashSet<int> temporaries)
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
                temporaries.Add(temporary);
                if (uses)
                    rewritten.Add(new LoadInstr(temporary, Reg.R10, slot, MemSize.DW) { Source = instruction.Source });
                rewritten.Add(Liveness.Rename(instruction, register, temporary));
                if (defs)
                    rewritten.Add(new StoreInstr(Reg.R10, slot, MemSize.DW, Operand.Reg(temporary)) { Source = instruction.Source });
            }

            if (block.Terminator is { } terminator && Liveness.Uses(terminator).Contains(register))
            {
                var temporary = function.NewRegister();
                temporaries.Add(temporary);
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
        private readonly List<(int A, int B)> _movePairs = new();
        private readonly Dictionary<int, int> _representative = new();

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
            if (a == Reg.R10 || b == Reg.R10 || a == b)
                return;
            _movePairs.Add((a, b));
            if (!_moves.TryGetValue(a, out var list))
                _moves[a] = list = new List<int>();
            list.Add(b);
            if (!_moves.TryGetValue(b, out list))
                _moves[b] = list = new List<int>();
            list.Add(a);
        }

        public IEnumerable<int> Neighbours(int node) => _edges.TryGetValue(node, out var set) ? set : Enumerable.Empty<int>();

        public int Degree(int node) => _edges.TryGetValue(node, out var set) ? set.Count : 0;

        /// <summary>Move partners, as the nodes that now stand for them.</summary>
        public IEnumerable<int> MovePartners(int node) =>
            _moves.TryGetValue(node, out var list) ? list.Select(Find).Where(p => p != node) : Enumerable.Empty<int>();

        public int Find(int node)
        {
            while (_representative.TryGetValue(node, out var parent))
                node = parent;
            return node;
        }

        /// <summary>
        /// Conservative coalescing: merges the two ends of a move into one node when they do not interfere and the
        /// merged node cannot make the graph harder to colour (Briggs's test for two virtual registers, George's for
        /// a virtual register and a physical one). Returns each remaining node with the registers it stands for.
        /// </summary>
        public Dictionary<int, List<int>> Coalesce(int colours)
        {
            foreach (var (a, b) in _movePairs)
            {
                var x = Find(a);
                var y = Find(b);
                if (x == y || Ir.IsPhysical(x) && Ir.IsPhysical(y) || !_edges.ContainsKey(x) || !_edges.ContainsKey(y) || _edges[x].Contains(y))
                    continue;
                if (Ir.IsPhysical(y))
                    (x, y) = (y, x);
                bool safe;
                if (Ir.IsPhysical(x))
                {
                    // George: every neighbour of the virtual register already conflicts with the physical one or is easy.
                    safe = _edges[y].All(t => Ir.IsPhysical(t) ? t != x : _edges[t].Contains(x) || Degree(t) < colours);
                }
                else
                {
                    var union = new HashSet<int>(_edges[x]);
                    union.UnionWith(_edges[y]);
                    safe = union.Count(t => Ir.IsPhysical(t) || Degree(t) >= colours) < colours;
                }

                if (safe)
                    Merge(x, y);
            }

            var members = new Dictionary<int, List<int>>();
            foreach (var node in _edges.Keys.Concat(_representative.Keys))
            {
                var root = Find(node);
                if (!members.TryGetValue(root, out var list))
                    members[root] = list = new List<int>();
                if (!list.Contains(node))
                    list.Add(node);
            }

            return members;
        }

        private void Merge(int into, int from)
        {
            foreach (var neighbour in _edges[from])
            {
                _edges[neighbour].Remove(from);
                if (neighbour != into)
                {
                    _edges[neighbour].Add(into);
                    _edges[into].Add(neighbour);
                }
            }

            _edges.Remove(from);
            _representative[from] = into;
            if (_moves.TryGetValue(from, out var moves))
            {
                if (!_moves.TryGetValue(into, out var list))
                    _moves[into] = list = new List<int>();
                list.AddRange(moves);
            }
        }
    }
}

internal sealed class RegisterAllocationException : Exception
{
    public RegisterAllocationException(string message)
        : base(message)
    {
    }
}

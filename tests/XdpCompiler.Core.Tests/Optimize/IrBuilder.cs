using XdpCompiler.Core.IR;

namespace XdpCompiler.Core.Tests.Optimize;

/// <summary>Hand-built IR for the optimizer's unit tests: blocks by number, virtual registers v11 and up.</summary>
internal sealed class IrBuilder
{
    public IrFunction Function { get; } = new("test") { NextRegister = 100 };

    private readonly Dictionary<int, IrBlock> _blocks = new();

    public IrBlock this[int id]
    {
        get
        {
            if (!_blocks.TryGetValue(id, out var block))
            {
                block = new IrBlock(id);
                _blocks[id] = block;
                Function.Blocks.Add(block);
                Function.NextBlockId = Math.Max(Function.NextBlockId, id + 1);
            }

            return block;
        }
    }

    public IrBuilder Add(int block, params IrInstr[] instructions)
    {
        this[block].Instructions.AddRange(instructions);
        return this;
    }

    public IrBuilder End(int block, Terminator terminator)
    {
        this[block].Terminator = terminator;
        return this;
    }

    public IrBuilder Return(int block, long value) =>
        Add(block, new ConstInstr(0, value)).End(block, new ExitTerm());

    public string Print() => IrPrinter.Print(Function);

    public static string Lines(params string[] lines) => string.Join("\n", lines) + "\n";
}

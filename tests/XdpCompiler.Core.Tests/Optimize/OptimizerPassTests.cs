using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.IR;
using XdpCompiler.Core.Optimize;
using Xunit;
using static XdpCompiler.Core.Tests.Optimize.IrBuilder;

namespace XdpCompiler.Core.Tests.Optimize;

/// <summary>Each pass on hand-built IR: the rewrite where it is sound, and the near misses where it must not happen.</summary>
public sealed class OptimizerPassTests
{
    private static readonly Operand Zero = Operand.Imm(0);

    // score = 0; if (v20 > 5) score += 128; return score & mask.
    private static IrBuilder ScoreProgram(long mask)
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.B), new ConstInstr(21, 0))
            .End(0, new BranchTerm(Condition.GtUnsigned, Width.W32, 20, Operand.Imm(5), ir[1], ir[2]));
        ir.Add(1, new BinaryInstr(BinaryOp.Add, Width.W32, 21, 21, Operand.Imm(128))).End(1, new JumpTerm(ir[2]));
        ir.Add(2, new BinaryInstr(BinaryOp.And, Width.W32, 22, 21, Operand.Imm(mask)), new MovInstr(Reg.R0, 22, Width.W64))
            .End(2, new ExitTerm());
        return ir;
    }

    [Fact]
    public void DemandedBitsDropsAnAddThatOnlyChangesUnobservedBits()
    {
        var ir = ScoreProgram(3);
        DemandedBits.Run(ir.Function);
        CfgSimplification.Run(ir.Function);
        DeadCodeElimination.Run(ir.Function);
        Assert.Equal(Lines("B0:", "  v21 = 0", "  v22 = and32 v21, 3", "  r0 = mov64 v22", "  exit"), ir.Print());
    }

    [Fact]
    public void DemandedBitsKeepsAnAddWhoseBitsAreObserved()
    {
        var ir = ScoreProgram(0xFF);
        var before = ir.Print();
        DemandedBits.Run(ir.Function);
        Assert.Equal(before, ir.Print());
    }

    [Fact]
    public void DemandedBitsTurnsAnExtensionUnderANarrowStoreIntoACopy()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.H), new ExtendInstr(21, 20, 8, Signed: true, Width.W64),
            new StoreInstr(Reg.R1, 4, MemSize.B, Operand.Reg(21)), new ConstInstr(Reg.R0, 2)).End(0, new ExitTerm());
        DemandedBits.Run(ir.Function);
        Assert.Contains("v21 = mov64 v20", ir.Print());

        // A 16-bit store reads bits the sign extension wrote: it stays.
        var wide = new IrBuilder();
        wide.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.H), new ExtendInstr(21, 20, 8, Signed: true, Width.W64),
            new StoreInstr(Reg.R1, 4, MemSize.H, Operand.Reg(21)), new ConstInstr(Reg.R0, 2)).End(0, new ExitTerm());
        DemandedBits.Run(wide.Function);
        Assert.Contains("v21 = sext8to64 v20", wide.Print());
    }

    [Fact]
    public void DemandedBitsWidensA32BitMoveOnlyWhenTheUpperHalfIsUnread()
    {
        IrBuilder Build(Width compare)
        {
            var ir = new IrBuilder();
            ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new MovInstr(21, 20, Width.W32))
                .End(0, new BranchTerm(Condition.Eq, compare, 21, Zero, ir[1], ir[2]));
            ir.Return(1, 1).Return(2, 2);
            return ir;
        }

        var narrow = Build(Width.W32);
        DemandedBits.Run(narrow.Function);
        Assert.Contains("v21 = mov64 v20", narrow.Print());
        var wide = Build(Width.W64);
        DemandedBits.Run(wide.Function);
        Assert.Contains("v21 = mov32 v20", wide.Print());
    }

    [Fact]
    public void DemandedBitsFollowsByteSwapsAndShifts()
    {
        // Only bit 0 of (swap16(x) >> 8) is read: that is bit 0 of x, so a mask of x's high byte is not needed.
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.H), new BinaryInstr(BinaryOp.And, Width.W64, 21, 20, Operand.Imm(0xFF)),
            new SwapInstr(22, 21, 16), new BinaryInstr(BinaryOp.ShrUnsigned, Width.W64, 23, 22, Operand.Imm(8)),
            new BinaryInstr(BinaryOp.And, Width.W64, 24, 23, Operand.Imm(1)), new MovInstr(Reg.R0, 24, Width.W64)).End(0, new ExitTerm());
        DemandedBits.Run(ir.Function);
        Assert.Contains("v21 = mov64 v20", ir.Print());

        // Reading bit 8 of the swap reads bit 0 of x's high byte... which the mask cleared: it must stay.
        var kept = new IrBuilder();
        kept.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.H), new BinaryInstr(BinaryOp.And, Width.W64, 21, 20, Operand.Imm(0xFF)),
            new SwapInstr(22, 21, 16), new BinaryInstr(BinaryOp.And, Width.W64, 24, 22, Operand.Imm(1)),
            new MovInstr(Reg.R0, 24, Width.W64)).End(0, new ExitTerm());
        DemandedBits.Run(kept.Function);
        Assert.Contains("v21 = and64 v20, 255", kept.Print());
    }

    [Fact]
    public void CfgSimplificationDecidesSelfComparesButNotBitTests()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW)).End(0, new BranchTerm(Condition.Eq, Width.W64, 20, Operand.Reg(20), ir[1], ir[2]));
        ir.Return(1, 1).Return(2, 2);
        CfgSimplification.Run(ir.Function);
        Assert.Equal(Lines("B0:", "  v20 = load64 [r1+0]", "  r0 = 1", "  exit"), ir.Print());

        var test = new IrBuilder();
        test.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW)).End(0, new BranchTerm(Condition.Set, Width.W64, 20, Operand.Reg(20), test[1], test[2]));
        test.Return(1, 1).Return(2, 2);
        var before = test.Print();
        CfgSimplification.Run(test.Function);
        Assert.Equal(before, test.Print());
    }

    [Fact]
    public void CfgSimplificationThreadsEmptyBlocksAndMergesChains()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.B)).End(0, new BranchTerm(Condition.Ne, Width.W32, 20, Zero, ir[1], ir[2]));
        ir.End(1, new JumpTerm(ir[2]));
        ir.Add(2, new MovInstr(21, 20, Width.W64)).End(2, new JumpTerm(ir[3]));
        ir.Add(3, new MovInstr(Reg.R0, 21, Width.W64)).End(3, new ExitTerm());
        CfgSimplification.Run(ir.Function);
        Assert.Equal(Lines("B0:", "  v20 = load8 [r1+0]", "  v21 = mov64 v20", "  r0 = mov64 v21", "  exit"), ir.Print());
    }

    [Fact]
    public void CfgSimplificationDoesNotMergeABlockWithTwoPredecessors()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.B)).End(0, new BranchTerm(Condition.Ne, Width.W32, 20, Zero, ir[1], ir[2]));
        ir.Add(1, new ConstInstr(20, 7)).End(1, new JumpTerm(ir[2]));
        ir.Add(2, new MovInstr(Reg.R0, 20, Width.W64)).End(2, new ExitTerm());
        var before = ir.Print();
        CfgSimplification.Run(ir.Function);
        Assert.Equal(before, ir.Print());
    }

    [Fact]
    public void BitTestFoldingTurnsMaskAndSignTestsIntoJset()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new BinaryInstr(BinaryOp.And, Width.W64, 21, 20, Operand.Imm(1)))
            .End(0, new BranchTerm(Condition.Eq, Width.W64, 21, Zero, ir[1], ir[2]));
        ir.Add(1, new BinaryInstr(BinaryOp.ShrUnsigned, Width.W64, 22, 20, Operand.Imm(8)), new ExtendInstr(23, 22, 8, Signed: true, Width.W32))
            .End(1, new BranchTerm(Condition.LtSigned, Width.W32, 23, Zero, ir[2], ir[3]));
        ir.Return(2, 1).Return(3, 2);
        BitTestFolding.Run(ir.Function);
        DeadCodeElimination.Run(ir.Function);
        Assert.Equal(Lines(
            "B0:", "  v20 = load64 [r1+0]", "  if v20 Clear 1 goto B1 else B2",
            "B1:", "  if v20 Set 32768 goto B2 else B3",
            "B2:", "  r0 = 1", "  exit",
            "B3:", "  r0 = 2", "  exit"), ir.Print());
    }

    [Fact]
    public void BitTestFoldingLeavesValuesReadElsewhereAndOrderedCompares()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new BinaryInstr(BinaryOp.And, Width.W64, 21, 20, Operand.Imm(1)),
                new StoreInstr(Reg.R1, 8, MemSize.DW, Operand.Reg(21)), new ExtendInstr(22, 20, 8, Signed: true, Width.W32))
            .End(0, new BranchTerm(Condition.Eq, Width.W64, 21, Zero, ir[1], ir[2]));
        ir.End(1, new BranchTerm(Condition.LtSigned, Width.W32, 22, Operand.Imm(1), ir[2], ir[3]));
        ir.Return(2, 1).Return(3, 2);
        var before = ir.Print();
        BitTestFolding.Run(ir.Function);
        Assert.Equal(before, ir.Print());
    }

    [Fact]
    public void BitTestFoldingKeepsTheShiftWhenTheMovedMaskLeavesImmediateRange()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new BinaryInstr(BinaryOp.ShrUnsigned, Width.W64, 22, 20, Operand.Imm(24)),
                new BinaryInstr(BinaryOp.And, Width.W64, 21, 22, Operand.Imm(0x80)))
            .End(0, new BranchTerm(Condition.Ne, Width.W64, 21, Zero, ir[1], ir[2]));
        ir.Return(1, 1).Return(2, 2);
        BitTestFolding.Run(ir.Function);
        Assert.Contains("if v22 Set 128 goto B1 else B2", ir.Print());
    }

    [Fact]
    public void ReturnHoistingSetsR0BeforeABranchOnlyWhereR0IsDeadOtherwise()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.B)).End(0, new BranchTerm(Condition.Eq, Width.W32, 20, Zero, ir[1], ir[2]));
        ir.End(2, new BranchTerm(Condition.Eq, Width.W32, 20, Operand.Imm(1), ir[3], ir[4]));
        ir.End(4, new BranchTerm(Condition.Eq, Width.W32, 20, Operand.Imm(2), ir[3], ir[5]));
        ir.Add(5, new ConstInstr(21, 9), new LoadInstr(Reg.R0, 21, 0, MemSize.B)).End(5, new JumpTerm(ir[6]));
        ir.Return(1, 1).Return(3, 3).End(6, new ExitTerm());
        ReturnHoisting.Run(ir.Function);
        var text = ir.Print();
        // Value 1 is returned from one place: set before the branch, which goes to the shared bare exit.
        Assert.Contains("B0:\n  v20 = load8 [r1+0]\n  r0 = 1\n  if32 v20 Eq 0 goto B7 else B2", text);
        // Value 3 is returned from two places: its block stays.
        Assert.Contains("B3:\n  r0 = 3\n  goto B7\nB7:\n  exit", text);
    }

    [Fact]
    public void ReturnHoistingLeavesABranchWhoseOtherWayReadsR0()
    {
        // r0 holds a loaded value on the way through B2 to the bare exits: setting it early would overwrite that.
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(Reg.R0, Reg.R1, 0, MemSize.B), new LoadInstr(20, Reg.R1, 1, MemSize.B))
            .End(0, new BranchTerm(Condition.Eq, Width.W32, 20, Zero, ir[1], ir[2]));
        ir.End(2, new BranchTerm(Condition.Eq, Width.W32, 20, Operand.Imm(1), ir[3], ir[4]));
        ir.Return(1, 1).Return(3, 3).End(4, new ExitTerm());
        var before = ir.Print();
        ReturnHoisting.Run(ir.Function);
        Assert.Equal(before, ir.Print());
    }

    [Fact]
    public void PeepholeFoldsNestedExtensionsAndTheLow32BitMask()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new ExtendInstr(21, 20, 8, Signed: true, Width.W32),
            new ExtendInstr(22, 21, 32, Signed: true, Width.W64), new StoreInstr(Reg.R1, 8, MemSize.DW, Operand.Reg(22)),
            new ConstInstr(23, 0xFFFF_FFFF), new BinaryInstr(BinaryOp.And, Width.W64, 24, 20, Operand.Reg(23)),
            new StoreInstr(Reg.R1, 16, MemSize.DW, Operand.Reg(24)),
            // zext16 of sext8 is not one extension: it keeps both.
            new ExtendInstr(25, 21, 16, Signed: false, Width.W32), new StoreInstr(Reg.R1, 24, MemSize.DW, Operand.Reg(25)),
            new ConstInstr(Reg.R0, 2)).End(0, new ExitTerm());
        Peephole.Run(ir.Function);
        var text = ir.Print();
        Assert.Contains("v22 = sext8to64 v20", text);
        Assert.Contains("v24 = zext32to64 v20", text);
        Assert.Contains("v25 = zext16to32 v21", text);
    }

    [Fact]
    public void RedundancyEliminationForwardsOnlyFullWidthStores()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new LoadInstr(21, Reg.R1, 8, MemSize.DW),
            new StoreInstr(20, 0, MemSize.DW, Operand.Reg(21)), new LoadInstr(22, 20, 0, MemSize.DW),
            new StoreInstr(20, 8, MemSize.W, Operand.Reg(21)), new LoadInstr(23, 20, 8, MemSize.W),
            new BinaryInstr(BinaryOp.Add, Width.W64, 24, 22, Operand.Reg(23)), new MovInstr(Reg.R0, 24, Width.W64)).End(0, new ExitTerm());
        RedundancyElimination.Run(ir.Function);
        var text = ir.Print();
        Assert.Contains("v22 = mov64 v21", text);
        Assert.Contains("v23 = load32 [v20+8]", text);
    }

    [Fact]
    public void LocalCopyPropagationRemovesRoundTripsButNotAcrossRedefinitions()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new ConstInstr(30, 0), new LoadInstr(30, Reg.R1, 8, MemSize.DW),
            new MovInstr(21, 30, Width.W64), new MovInstr(30, 21, Width.W64),
            new MovInstr(22, 30, Width.W64), new LoadInstr(30, Reg.R1, 16, MemSize.DW), new MovInstr(30, 22, Width.W64),
            new MovInstr(Reg.R0, 30, Width.W64)).End(0, new ExitTerm());
        CopyPropagation.RunLocal(ir.Function);
        var text = ir.Print();
        Assert.DoesNotContain("v30 = mov64 v21", text);
        // v30 changed between "v22 = v30" and "v30 = v22": that copy restores the old value and stays.
        Assert.Contains("v30 = mov64 v22", text);
    }
}

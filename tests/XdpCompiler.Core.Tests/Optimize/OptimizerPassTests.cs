using XdpCompiler.Core.Backend;
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
            "B1:", "  if32 v20 Set 32768 goto B2 else B3",
            "B2:", "  r0 = 1", "  exit",
            "B3:", "  r0 = 2", "  exit"), ir.Print());
    }

    [Fact]
    public void BitTestIfConversionAddsTheTestedBitInsteadOfBranching()
    {
        // v += 1 when bit 7 of x is set; v |= 4 when the sign bit of y is set (Clear: the set side is the false edge).
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.W), new LoadInstr(21, Reg.R1, 4, MemSize.W), new ConstInstr(30, 0))
            .End(0, new BranchTerm(Condition.Set, Width.W32, 20, Operand.Imm(0x80), ir[1], ir[2]));
        ir.Add(1, new BinaryInstr(BinaryOp.Add, Width.W32, 30, 30, Operand.Imm(1))).End(1, new JumpTerm(ir[2]));
        ir.End(2, new BranchTerm(Condition.Clear, Width.W32, 21, Operand.Imm(unchecked((int)0x80000000)), ir[4], ir[3]));
        ir.Add(3, new BinaryInstr(BinaryOp.Or, Width.W32, 30, 30, Operand.Imm(4))).End(3, new JumpTerm(ir[4]));
        ir.Add(4, new MovInstr(Reg.R0, 30, Width.W64)).End(4, new ExitTerm());

        BitTestIfConversion.Run(ir.Function);

        Assert.Equal(Lines(
            "B0:", "  v20 = load32 [r1+0]", "  v21 = load32 [r1+4]", "  v30 = 0",
            "  v100 = shrunsigned32 v20, 7", "  v101 = and32 v100, 1", "  v30 = add32 v30, v101", "  goto B2",
            "B2:", "  v102 = shrunsigned32 v21, 31", "  v103 = shl32 v102, 2", "  v30 = or32 v30, v103", "  goto B4",
            "B4:", "  r0 = mov64 v30", "  exit"), ir.Print());
    }

    [Fact]
    public void BitTestIfConversionLeavesWhatABranchDoesCheaperOrDifferently()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.W), new ConstInstr(30, 0))
            // The guarded block runs when the bit is clear: "if x & m goto join; v += 1" is already two instructions.
            .End(0, new BranchTerm(Condition.Set, Width.W32, 20, Operand.Imm(0x80), ir[2], ir[1]));
        ir.Add(1, new BinaryInstr(BinaryOp.Add, Width.W32, 30, 30, Operand.Imm(1))).End(1, new JumpTerm(ir[2]));
        // Two bits, a middle bit scaled by 8 (four instructions), and a block that does more than one thing.
        ir.End(2, new BranchTerm(Condition.Set, Width.W32, 20, Operand.Imm(0x6), ir[3], ir[4]));
        ir.Add(3, new BinaryInstr(BinaryOp.Add, Width.W32, 30, 30, Operand.Imm(1))).End(3, new JumpTerm(ir[4]));
        ir.End(4, new BranchTerm(Condition.Set, Width.W32, 20, Operand.Imm(0x10), ir[5], ir[6]));
        ir.Add(5, new BinaryInstr(BinaryOp.Add, Width.W32, 30, 30, Operand.Imm(8))).End(5, new JumpTerm(ir[6]));
        ir.End(6, new BranchTerm(Condition.Set, Width.W32, 20, Operand.Imm(1), ir[7], ir[8]));
        ir.Add(7, new BinaryInstr(BinaryOp.Add, Width.W32, 30, 30, Operand.Imm(1)), new StoreInstr(Reg.R1, 8, MemSize.W, Operand.Reg(30)))
            .End(7, new JumpTerm(ir[8]));
        ir.Add(8, new MovInstr(Reg.R0, 30, Width.W64)).End(8, new ExitTerm());
        var before = ir.Print();

        BitTestIfConversion.Run(ir.Function);

        Assert.Equal(before, ir.Print());
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
        // Bit 7 of x >> 40 is bit 47 of x: no jset immediate (32 bits, sign-extended) can name it.
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new BinaryInstr(BinaryOp.ShrUnsigned, Width.W64, 22, 20, Operand.Imm(40)),
                new BinaryInstr(BinaryOp.And, Width.W64, 21, 22, Operand.Imm(0x80)))
            .End(0, new BranchTerm(Condition.Ne, Width.W64, 21, Zero, ir[1], ir[2]));
        ir.Return(1, 1).Return(2, 2);
        BitTestFolding.Run(ir.Function);
        Assert.Contains("if v22 Set 128 goto B1 else B2", ir.Print());
    }

    [Fact]
    public void ReturnHoistingSetsR0OnceWhereEveryBranchReturningItStarts()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.B)).End(0, new BranchTerm(Condition.Eq, Width.W32, 20, Zero, ir[1], ir[2]));
        ir.End(2, new BranchTerm(Condition.Eq, Width.W32, 20, Operand.Imm(1), ir[3], ir[4]));
        ir.End(4, new BranchTerm(Condition.Eq, Width.W32, 20, Operand.Imm(2), ir[3], ir[5]));
        ir.Add(5, new ConstInstr(21, 9), new LoadInstr(Reg.R0, 21, 0, MemSize.B)).End(5, new JumpTerm(ir[6]));
        ir.Return(1, 1).Return(3, 3).End(6, new ExitTerm());
        ReturnHoisting.Run(ir.Function);
        Assert.Equal(IrBuilder.Lines(
            "B0:",
            "  v20 = load8 [r1+0]",
            "  r0 = 1",
            "  if32 v20 Eq 0 goto B7 else B2",
            // Value 3 is returned from B2 and B4: set once in B2, which every way to both passes.
            "B2:",
            "  r0 = 3",
            "  if32 v20 Eq 1 goto B7 else B4",
            "B4:",
            "  if32 v20 Eq 2 goto B7 else B5",
            "B5:",
            "  v21 = 9",
            "  r0 = load8 [v21+0]",
            "  goto B6",
            // The shared exit goes behind the first exit after its last branch, which falls into it.
            "B6:",
            "  goto B7",
            "B7:",
            "  exit"), ir.Print());
    }

    [Fact]
    public void ReturnHoistingLeavesAReturnWhoseBranchesPassAnotherEarlyR0()
    {
        // PASS from B0, B2 and B3; DROP from B1 and B3. DROP's r0 goes into B1 (nearer its branches), which lies on
        // the way from B0 to PASS's later branches: PASS keeps its block, and falls into the shared exit.
        var ir = new IrBuilder();
        for (var block = 0; block < 6; block++)
            _ = ir[block];
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.B)).End(0, new BranchTerm(Condition.Eq, Width.W32, 20, Zero, ir[4], ir[1]));
        ir.End(1, new BranchTerm(Condition.Eq, Width.W32, 20, Operand.Imm(1), ir[5], ir[2]));
        ir.End(2, new BranchTerm(Condition.Eq, Width.W32, 20, Operand.Imm(2), ir[4], ir[3]));
        ir.End(3, new BranchTerm(Condition.Eq, Width.W32, 20, Operand.Imm(3), ir[5], ir[4]));
        ir.Return(4, 2).Return(5, 1);
        ReturnHoisting.Run(ir.Function);
        Assert.Equal(IrBuilder.Lines(
            "B0:",
            "  v20 = load8 [r1+0]",
            "  if32 v20 Eq 0 goto B4 else B1",
            "B1:",
            "  r0 = 1",
            "  if32 v20 Eq 1 goto B6 else B2",
            "B2:",
            "  if32 v20 Eq 2 goto B4 else B3",
            "B3:",
            "  if32 v20 Eq 3 goto B6 else B4",
            "B4:",
            "  r0 = 2",
            "  goto B6",
            "B6:",
            "  exit"), ir.Print());
    }

    [Fact]
    public void ReturnHoistingSplitsAReturnsBranchesBetweenTwoPlacesAroundAHelperCall()
    {
        // DROP from B0, then (after a helper call, which clobbers r0) from B2 and B3: no one place serves all three,
        // two do — as many instructions as the "r0 = 1; exit" block they replace.
        var ir = new IrBuilder();
        for (var block = 0; block < 6; block++)
            _ = ir[block];
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.B)).End(0, new BranchTerm(Condition.Eq, Width.W32, 20, Zero, ir[5], ir[1]));
        ir.Add(1, new ConstInstr(Reg.R1, 7), new CallInstr(1, 1)).End(1, new JumpTerm(ir[2]));
        ir.End(2, new BranchTerm(Condition.Eq, Width.W32, 20, Operand.Imm(1), ir[5], ir[3]));
        ir.End(3, new BranchTerm(Condition.Eq, Width.W32, 20, Operand.Imm(2), ir[5], ir[4]));
        ir.Add(4, new LoadInstr(Reg.R0, Reg.R10, -8, MemSize.B)).End(4, new ExitTerm());
        ir.Return(5, 1);
        ReturnHoisting.Run(ir.Function);
        Assert.Equal(IrBuilder.Lines(
            "B0:",
            "  v20 = load8 [r1+0]",
            "  r0 = 1",
            "  if32 v20 Eq 0 goto B6 else B1",
            "B1:",
            "  r1 = 7",
            "  call 1/1",
            "  goto B2",
            "B2:",
            "  r0 = 1",
            "  if32 v20 Eq 1 goto B6 else B3",
            "B3:",
            "  if32 v20 Eq 2 goto B6 else B4",
            "B4:",
            "  r0 = load8 [r10-8]",
            "  goto B6",
            "B6:",
            "  exit"), ir.Print());
    }

    [Fact]
    public void CodeSinkingMovesAComputationWithItsOwnInputsToWhereItIsRead()
    {
        // y = (v - 9) * 3 is read only after "if (v == 0) return 1": it is computed there, with the constants it alone
        // reads. z = v + 1 is read by B0's own branch and stays.
        var ir = new IrBuilder();
        for (var block = 0; block < 4; block++)
            _ = ir[block];
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new ConstInstr(21, 9), new BinaryInstr(BinaryOp.Sub, Width.W64, 22, 20, Operand.Reg(21)),
                new BinaryInstr(BinaryOp.Mul, Width.W64, 23, 22, Operand.Imm(3)), new BinaryInstr(BinaryOp.Add, Width.W64, 24, 20, Operand.Imm(1)))
            .End(0, new BranchTerm(Condition.Eq, Width.W64, 24, Zero, ir[2], ir[1]));
        ir.Add(1, new StoreInstr(Reg.R10, -8, MemSize.DW, Operand.Reg(20))).End(1, new BranchTerm(Condition.GtSigned, Width.W64, 23, Operand.Imm(5), ir[2], ir[3]));
        ir.Return(2, 1).Return(3, 2);
        CodeSinking.Run(ir.Function);
        Assert.Equal(IrBuilder.Lines(
            "B0:",
            "  v20 = load64 [r1+0]",
            "  v24 = add64 v20, 1",
            "  if v24 Eq 0 goto B2 else B1",
            "B1:",
            "  store64 [r10-8], v20",
            "  v21 = 9",
            "  v22 = sub64 v20, v21",
            "  v23 = mul64 v22, 3",
            "  if v23 GtSigned 5 goto B2 else B3",
            "B2:",
            "  r0 = 1",
            "  exit",
            "B3:",
            "  r0 = 2",
            "  exit"), ir.Print());
    }

    [Fact]
    public void CodeSinkingLeavesWhatTheBlocksBranchReadsOrWhatIsDefinedTwice()
    {
        var ir = new IrBuilder();
        for (var block = 0; block < 4; block++)
            _ = ir[block];
        // v22 feeds both B0's branch and v23 (read in B1): v23 may move, v22 must stay. v25 has two definitions.
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new BinaryInstr(BinaryOp.Add, Width.W64, 22, 20, Operand.Imm(100)),
                new BinaryInstr(BinaryOp.Mul, Width.W64, 23, 22, Operand.Imm(2)), new ConstInstr(25, 1), new BinaryInstr(BinaryOp.Add, Width.W64, 25, 25, Operand.Reg(20)))
            .End(0, new BranchTerm(Condition.Set, Width.W32, 22, Operand.Imm(0x80), ir[1], ir[2]));
        ir.Add(1, new StoreInstr(Reg.R10, -8, MemSize.DW, Operand.Reg(23)), new StoreInstr(Reg.R10, -16, MemSize.DW, Operand.Reg(25))).End(1, new JumpTerm(ir[2]));
        ir.Return(2, 2);
        CodeSinking.Run(ir.Function);
        var text = ir.Print();
        Assert.Contains("B0:\n  v20 = load64 [r1+0]\n  v22 = add64 v20, 100\n  v25 = 1\n  v25 = add64 v25, v20\n  if32 v22 Set 128", text);
        Assert.Contains("B1:\n  v23 = mul64 v22, 2\n  store64 [r10-8], v23", text);
    }

    [Fact]
    public void CallSinkingMovesAGroupOfComputationsPastTheCallWhenFewerValuesCrossIt()
    {
        // v21, v22 and v24 cross the lookup; computed after it, only their input v20 does.
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW),
                new ConstInstr(23, 0x1_0000_0003), new BinaryInstr(BinaryOp.Mul, Width.W64, 21, 20, Operand.Reg(23)),
                new BinaryInstr(BinaryOp.Add, Width.W64, 22, 20, Operand.Imm(5)), new ExtendInstr(24, 20, 32, Signed: false, Width.W64),
                new StoreInstr(Reg.R10, -8, MemSize.DW, Operand.Imm(0)), new ConstInstr(Reg.R1, 7), new CallInstr(1, 1),
                new MovInstr(25, Reg.R0, Width.W64))
            .End(0, new BranchTerm(Condition.Eq, Width.W64, 25, Zero, ir[1], ir[2]));
        ir.Add(1, new StoreInstr(Reg.R10, -8, MemSize.DW, Operand.Reg(21)), new StoreInstr(Reg.R10, -16, MemSize.DW, Operand.Reg(22))).End(1, new JumpTerm(ir[2]));
        ir.Add(2, new StoreInstr(Reg.R10, -24, MemSize.DW, Operand.Reg(24))).Return(2, 2);
        CallSinking.Run(ir.Function);
        Assert.Contains(IrBuilder.Lines(
            "  call 1/1",
            "  v25 = mov64 r0",
            "  v23 = 4294967299",
            "  v21 = mul64 v20, v23",
            "  v22 = add64 v20, 5",
            "  v24 = zext32to64 v20",
            "  if v25 Eq 0 goto B1 else B2"), ir.Print());
    }

    [Fact]
    public void CallSinkingPutsTheMovedCodeBeforeACopyOfTheResultIntoOneOfItsInputs()
    {
        // v20 takes the call's result: the moved computations must still read its old value.
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new BinaryInstr(BinaryOp.Mul, Width.W64, 21, 20, Operand.Imm(3)),
                new BinaryInstr(BinaryOp.Add, Width.W64, 22, 20, Operand.Imm(5)), new ConstInstr(Reg.R1, 7), new CallInstr(1, 1),
                new MovInstr(20, Reg.R0, Width.W64))
            .End(0, new JumpTerm(ir[1]));
        ir.Add(1, new StoreInstr(Reg.R10, -8, MemSize.DW, Operand.Reg(21)), new StoreInstr(Reg.R10, -16, MemSize.DW, Operand.Reg(22)),
            new StoreInstr(Reg.R10, -24, MemSize.DW, Operand.Reg(20))).Return(1, 2);
        CallSinking.Run(ir.Function);
        Assert.Contains(IrBuilder.Lines(
            "  call 1/1",
            "  v21 = mul64 v20, 3",
            "  v22 = add64 v20, 5",
            "  v20 = mov64 r0"), ir.Print());
    }

    [Fact]
    public void CallSinkingLeavesWhatWouldCarryMoreValuesAcrossOrIsReadBeforeTheCall()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new LoadInstr(21, Reg.R1, 8, MemSize.DW),
                // Two inputs for one result: moving v22 would carry v20 and v21 across instead of v22.
                new BinaryInstr(BinaryOp.Add, Width.W64, 22, 20, Operand.Reg(21)),
                // Read before the call (the key on the stack, an argument).
                new BinaryInstr(BinaryOp.And, Width.W64, 23, 20, Operand.Imm(3)), new StoreInstr(Reg.R10, -8, MemSize.DW, Operand.Reg(23)),
                new BinaryInstr(BinaryOp.Add, Width.W64, 24, 21, Operand.Imm(1)), new MovInstr(Reg.R2, 24, Width.W64),
                new CallInstr(1, 2))
            .End(0, new JumpTerm(ir[1]));
        ir.Add(1, new StoreInstr(Reg.R10, -16, MemSize.DW, Operand.Reg(22)), new StoreInstr(Reg.R10, -24, MemSize.DW, Operand.Reg(23))).Return(1, 2);
        var before = ir.Print();
        CallSinking.Run(ir.Function);
        Assert.Equal(before, ir.Print());
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
    public void RedundancyEliminationForwardsAStoreOnlyWhereTheLoadReadsTheWholeRegisterBack()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new LoadInstr(21, Reg.R1, 8, MemSize.DW),
            new StoreInstr(20, 0, MemSize.DW, Operand.Reg(21)), new LoadInstr(22, 20, 0, MemSize.DW),
            // v21 may have bits above 32: the 32-bit load reads less than the register.
            new StoreInstr(20, 8, MemSize.W, Operand.Reg(21)), new LoadInstr(23, 20, 8, MemSize.W),
            // v25 came from a 16-bit load: nothing above its 16 bits, so reading them back reads v25.
            new LoadInstr(25, 20, 16, MemSize.H), new StoreInstr(20, 18, MemSize.H, Operand.Reg(25)), new LoadInstr(26, 20, 18, MemSize.H),
            // ... but not as a byte.
            new StoreInstr(20, 20, MemSize.B, Operand.Reg(25)), new LoadInstr(27, 20, 20, MemSize.B),
            new BinaryInstr(BinaryOp.Add, Width.W64, 24, 22, Operand.Reg(23)), new BinaryInstr(BinaryOp.Add, Width.W64, 24, 24, Operand.Reg(26)),
            new BinaryInstr(BinaryOp.Add, Width.W64, 24, 24, Operand.Reg(27)), new MovInstr(Reg.R0, 24, Width.W64)).End(0, new ExitTerm());
        RedundancyElimination.Run(ir.Function);
        var text = ir.Print();
        Assert.Contains("v22 = mov64 v21", text);
        Assert.Contains("v23 = load32 [v20+8]", text);
        Assert.Contains("v26 = mov64 v25", text);
        Assert.Contains("v27 = load8 [v20+20]", text);
    }

    [Fact]
    public void RedundancyEliminationForwardsA32BitResultStoredAt32Bits()
    {
        // "(*count)++; *count += n": the 32-bit add zero-extends, so the 32-bit reload reads the register back.
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new LoadInstr(21, 20, 0, MemSize.W),
            new BinaryInstr(BinaryOp.Add, Width.W32, 22, 21, Operand.Imm(1)), new StoreInstr(20, 0, MemSize.W, Operand.Reg(22)),
            new LoadInstr(23, 20, 0, MemSize.W),
            // A 64-bit add may carry above bit 31: a 32-bit reload reads less than the register.
            new BinaryInstr(BinaryOp.Add, Width.W64, 24, 21, Operand.Imm(1)), new StoreInstr(20, 8, MemSize.W, Operand.Reg(24)),
            new LoadInstr(25, 20, 8, MemSize.W),
            // A 32-bit result stored as 16 bits is not read back whole by a 16-bit load.
            new StoreInstr(20, 16, MemSize.H, Operand.Reg(22)), new LoadInstr(26, 20, 16, MemSize.H),
            new BinaryInstr(BinaryOp.Add, Width.W64, 27, 23, Operand.Reg(25)), new BinaryInstr(BinaryOp.Add, Width.W64, 27, 27, Operand.Reg(26)),
            new MovInstr(Reg.R0, 27, Width.W64)).End(0, new ExitTerm());
        RedundancyElimination.Run(ir.Function);
        var text = ir.Print();
        Assert.Contains("v23 = mov64 v22", text);
        Assert.Contains("v25 = load32 [v20+8]", text);
        Assert.Contains("v26 = load16 [v20+16]", text);
    }

    [Fact]
    public void SwapCompareFoldingSeesTheLoadThroughACopy()
    {
        // "udp->Dst = src; if (udp->Dst == 53)": the reload became a copy of the loaded port.
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.H), new MovInstr(21, 20, Width.W64), new SwapInstr(22, 21, 16))
            .End(0, new BranchTerm(Condition.Eq, Width.W32, 22, Operand.Imm(53), ir[1], ir[2]));
        ir.Return(1, 1).Return(2, 2);
        SwapCompareFolding.Run(ir.Function);
        Assert.Contains("if32 v21 Eq 13568 goto B1 else B2", ir.Print());
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

    [Fact]
    public void BitTestFoldingMovesAShiftedTestIntoTheLowHalf()
    {
        // Bit 7 of x >> 24 is bit 31 of x: a 32-bit jset reaches it.
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new BinaryInstr(BinaryOp.ShrUnsigned, Width.W64, 22, 20, Operand.Imm(24)),
                new BinaryInstr(BinaryOp.And, Width.W64, 21, 22, Operand.Imm(0x80)))
            .End(0, new BranchTerm(Condition.Ne, Width.W64, 21, Zero, ir[1], ir[2]));
        ir.Return(1, 1).Return(2, 2);
        BitTestFolding.Run(ir.Function);
        Assert.Contains("if32 v20 Set 2147483648 goto B1 else B2", ir.Print());
    }

    // (((swap16(x) << 1) + c) & 3) == 3: with c = 1 bit 0 of the sum is known to be 1, so only bit 1 is tested,
    // which is bit 0 of swap16(x), which is bit 8 of x.
    private static IrBuilder ShiftedSwapTest(long addend)
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.H), new SwapInstr(21, 20, 16),
                new BinaryInstr(BinaryOp.Shl, Width.W32, 22, 21, Operand.Imm(1)), new BinaryInstr(BinaryOp.Add, Width.W32, 23, 22, Operand.Imm(addend)),
                new BinaryInstr(BinaryOp.And, Width.W32, 24, 23, Operand.Imm(3)))
            .End(0, new BranchTerm(Condition.Eq, Width.W32, 24, Operand.Imm(3), ir[1], ir[2]));
        ir.Return(1, 1).Return(2, 2);
        return ir;
    }

    [Fact]
    public void BitTestFoldingUsesKnownBitsAndFollowsShiftsAndSwaps()
    {
        var ir = ShiftedSwapTest(1);
        BitTestFolding.Run(ir.Function);
        DeadCodeElimination.Run(ir.Function);
        Assert.Equal(Lines("B0:", "  v20 = load16 [r1+0]", "  if32 v20 Set 256 goto B1 else B2", "B1:", "  r0 = 1", "  exit", "B2:", "  r0 = 2", "  exit"), ir.Print());
    }

    [Fact]
    public void BitTestFoldingLeavesATestThatACarryCanReach()
    {
        // "+ 3" adds into bit 1, which is unknown: no bit of the sum is known, and two bits need the mask and compare.
        var ir = ShiftedSwapTest(3);
        var before = ir.Print();
        BitTestFolding.Run(ir.Function);
        Assert.Equal(before, ir.Print());
    }

    private static IrBuilder WrappedRangeTest(long addend)
    {
        // (ushort)(swap16(x) + addend) < 0x1000
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.H), new SwapInstr(21, 20, 16),
                new BinaryInstr(BinaryOp.Add, Width.W32, 22, 21, Operand.Imm(addend)), new ExtendInstr(23, 22, 16, Signed: false, Width.W32))
            .End(0, new BranchTerm(Condition.LtSigned, Width.W32, 23, Operand.Imm(0x1000), ir[1], ir[2]));
        ir.Return(1, 1).Return(2, 2);
        return ir;
    }

    [Fact]
    public void BitTestFoldingTurnsAWrappedRangeCheckIntoAMaskCompare()
    {
        var ir = WrappedRangeTest(0xF000);
        BitTestFolding.Run(ir.Function);
        DeadCodeElimination.Run(ir.Function);
        // The top nibble of swap16(x) + 0xF000 is zero exactly when that of swap16(x) is 1: x's byte 0 high nibble.
        Assert.Equal(Lines("B0:", "  v20 = load16 [r1+0]", "  v22 = and32 v20, 240", "  if32 v22 Eq 16 goto B1 else B2",
            "B1:", "  r0 = 1", "  exit", "B2:", "  r0 = 2", "  exit"), ir.Print());
        for (var x = 0; x < 0x10000; x += 0x0107)
        {
            var swapped = ((x & 0xFF) << 8) | (x >> 8);
            Assert.Equal((ushort)(swapped + 0xF000) < 0x1000, (x & 0xF0) == 0x10);
        }
    }

    [Fact]
    public void BitTestFoldingLeavesAWrappedRangeCheckWhoseAddendReachesLowBits()
    {
        // The sum's low bits are not x's: it is still tested (without the extension), never compared as "x & 0xF0".
        var ir = WrappedRangeTest(0xF001);
        BitTestFolding.Run(ir.Function);
        var text = ir.Print();
        Assert.Contains("v22 = add32 v21, 61441", text);
        Assert.Contains("if32 v22 Clear 61440 goto B1 else B2", text);
    }

    [Fact]
    public void RangeFoldingDropsExtensionsOfValuesThatAlreadyFit()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.B), new ExtendInstr(21, 20, 32, Signed: true, Width.W64),
                new BinaryInstr(BinaryOp.Sub, Width.W32, 22, 20, Operand.Imm(128)), new ExtendInstr(23, 22, 32, Signed: true, Width.W64),
                new LoadInstr(24, Reg.R1, 4, MemSize.W), new BinaryInstr(BinaryOp.Sub, Width.W32, 25, 24, Operand.Imm(128)),
                new ExtendInstr(26, 25, 32, Signed: true, Width.W64), new ExtendInstr(27, 20, 8, Signed: true, Width.W64),
                new BinaryInstr(BinaryOp.Add, Width.W64, 28, 21, Operand.Reg(23)), new BinaryInstr(BinaryOp.Add, Width.W64, 29, 28, Operand.Reg(26)),
                new BinaryInstr(BinaryOp.Add, Width.W64, 30, 29, Operand.Reg(27)), new MovInstr(Reg.R0, 30, Width.W64))
            .End(0, new ExitTerm());
        RangeFolding.Run(ir.Function);
        var text = ir.Print();
        Assert.Contains("v21 = mov64 v20", text);
        Assert.Contains("v23 = sub64 v20, 128", text);
        // A 32-bit load minus 128 can wrap below zero: its sign extension stays; so does a byte whose top bit may be set.
        Assert.Contains("v26 = sext32to64 v25", text);
        Assert.Contains("v27 = sext8to64 v20", text);
    }

    private static IrBuilder ProductCompare(MemSize size, Condition condition, long limit)
    {
        // (long)(sbyte)x * -3 cond limit
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, size), new ExtendInstr(21, 20, 8, Signed: true, Width.W64),
                new BinaryInstr(BinaryOp.Mul, Width.W64, 22, size == MemSize.DW ? 20 : 21, Operand.Imm(-3)))
            .End(0, new BranchTerm(condition, Width.W64, 22, Operand.Imm(limit), ir[1], ir[2]));
        ir.Return(1, 1).Return(2, 2);
        return ir;
    }

    [Fact]
    public void RangeFoldingDividesAProductCompareThatCannotWrap()
    {
        var ir = ProductCompare(MemSize.B, Condition.GtSigned, 200);
        RangeFolding.Run(ir.Function);
        Assert.Contains("if v21 LtSigned -66 goto B1 else B2", ir.Print());
        var ge = ProductCompare(MemSize.B, Condition.GeSigned, 201);
        RangeFolding.Run(ge.Function);
        Assert.Contains("if v21 LeSigned -67 goto B1 else B2", ge.Print());
        for (var t = -128; t < 128; t++)
        {
            Assert.Equal(t * -3 > 200, t < -66);
            Assert.Equal(t * -3 >= 201, t <= -67);
        }

        // A full 64-bit x times -3 can wrap: the compare stays.
        var wide = ProductCompare(MemSize.DW, Condition.GtSigned, 200);
        var before = wide.Print();
        RangeFolding.Run(wide.Function);
        Assert.Equal(before, wide.Print());
    }

    [Fact]
    public void RangeFoldingComparesTheUnshiftedValue()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new BinaryInstr(BinaryOp.ShrUnsigned, Width.W64, 21, 20, Operand.Imm(16)),
                new ExtendInstr(22, 21, 16, Signed: false, Width.W32))
            .End(0, new BranchTerm(Condition.GtSigned, Width.W32, 22, Operand.Imm(0x8000), ir[1], ir[2]));
        ir.Return(1, 1).Return(2, 2);
        RangeFolding.Run(ir.Function);
        Assert.Contains("if32 v20 GtUnsigned 2147549183 goto B1 else B2", ir.Print());

        // Sixteen bits of x >> 8 are not all of its bits from 8 up at 32 bits: no single compare of x says the same.
        var partial = new IrBuilder();
        partial.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new BinaryInstr(BinaryOp.ShrUnsigned, Width.W64, 21, 20, Operand.Imm(8)),
                new ExtendInstr(22, 21, 16, Signed: false, Width.W32))
            .End(0, new BranchTerm(Condition.GtSigned, Width.W32, 22, Operand.Imm(0x8000), partial[1], partial[2]));
        partial.Return(1, 1).Return(2, 2);
        var before = partial.Print();
        RangeFolding.Run(partial.Function);
        Assert.Equal(before, partial.Print());
    }

    [Fact]
    public void BranchImplicationFollowsTheOnlyWayIn()
    {
        IrBuilder Build(bool redefine)
        {
            var ir = new IrBuilder();
            ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW))
                .End(0, new BranchTerm(Condition.GtUnsigned, Width.W32, 20, Operand.Imm(0x8000FFFF), ir[1], ir[3]));
            if (redefine)
                ir.Add(1, new LoadInstr(20, Reg.R1, 8, MemSize.DW));
            ir.End(1, new BranchTerm(Condition.LtSigned, Width.W32, 20, Zero, ir[2], ir[3]));
            ir.Return(2, 3).Return(3, 2);
            return ir;
        }

        var ir = Build(redefine: false);
        BranchImplication.Run(ir.Function);
        Assert.Contains("B1:\n  goto B2", ir.Print());
        var changed = Build(redefine: true);
        var before = changed.Print();
        BranchImplication.Run(changed.Function);
        Assert.Equal(before, changed.Print());
    }

    [Fact]
    public void BranchImplicationRepeatsABitTestsOutcome()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW)).End(0, new BranchTerm(Condition.Set, Width.W32, 20, Operand.Imm(0x8000), ir[1], ir[2]));
        ir.End(1, new BranchTerm(Condition.Set, Width.W32, 20, Operand.Imm(0x8000), ir[3], ir[2]));
        ir.End(2, new BranchTerm(Condition.Set, Width.W32, 20, Operand.Imm(0x4000), ir[3], ir[4]));
        ir.Return(3, 1).Return(4, 2);
        BranchImplication.Run(ir.Function);
        var text = ir.Print();
        Assert.Contains("B1:\n  goto B3", text);
        // B2 has two ways in, and tests another bit anyway.
        Assert.Contains("if32 v20 Set 16384 goto B3 else B4", text);
    }

    [Fact]
    public void OperandCommutationLetsTheResultTakeTheDyingOperandsRegister()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.B), new LoadInstr(21, Reg.R1, 1, MemSize.B),
                new BinaryInstr(BinaryOp.Add, Width.W32, 22, 20, Operand.Reg(21)), new BinaryInstr(BinaryOp.Sub, Width.W32, 23, 20, Operand.Reg(22)),
                new LoadInstr(24, Reg.R1, 2, MemSize.B), new BinaryInstr(BinaryOp.Add, Width.W32, 25, 23, Operand.Reg(24)),
                new BinaryInstr(BinaryOp.Xor, Width.W32, 26, 25, Operand.Reg(24)), new MovInstr(Reg.R0, 26, Width.W64))
            .End(0, new ExitTerm());
        OperandCommutation.Run(ir.Function);
        var text = ir.Print();
        Assert.Contains("v22 = add32 v21, v20", text);
        // Not a subtraction, and not when both operands live on (v24) or the left one dies (v25).
        Assert.Contains("v23 = sub32 v20, v22", text);
        Assert.Contains("v25 = add32 v23, v24", text);
        Assert.Contains("v26 = xor32 v25, v24", text);
    }

    [Fact]
    public void CopyCoalescingDoesNotMakeAnOperationWriteItsRightOperand()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new LoadInstr(21, Reg.R1, 8, MemSize.DW),
                new BinaryInstr(BinaryOp.Sub, Width.W64, 22, 21, Operand.Reg(20)), new MovInstr(20, 22, Width.W64), new MovInstr(Reg.R0, 20, Width.W64))
            .End(0, new ExitTerm());
        var before = ir.Print();
        CopyCoalescing.Run(ir.Function);
        Assert.Equal(before, ir.Print());
    }

    [Fact]
    public void ReturnMergingCopiesExitsThatOnlyPassAValueOn()
    {
        // return v == 0 ? 1 : v == 1 ? 3 : 0, through a shared "r0 = result" block.
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.B)).End(0, new BranchTerm(Condition.Eq, Width.W32, 20, Zero, ir[1], ir[2]));
        ir.Add(1, new ConstInstr(30, 1)).End(1, new JumpTerm(ir[5]));
        ir.End(2, new BranchTerm(Condition.Eq, Width.W32, 20, Operand.Imm(1), ir[3], ir[4]));
        ir.Add(3, new ConstInstr(31, 3)).End(3, new JumpTerm(ir[6]));
        ir.Add(4, new ConstInstr(31, 0)).End(4, new JumpTerm(ir[6]));
        ir.Add(6, new MovInstr(30, 31, Width.W64)).End(6, new JumpTerm(ir[5]));
        ir.Add(5, new MovInstr(32, 30, Width.W64), new MovInstr(Reg.R0, 32, Width.W64)).End(5, new ExitTerm());
        ReturnMerging.Run(ir.Function);
        var text = ir.Print();
        Assert.DoesNotContain("mov64", text);
        Assert.Contains("r0 = 1\n  exit", text);
        Assert.Contains("r0 = 3\n  exit", text);
        Assert.Contains("r0 = 0\n  exit", text);
    }

    // bool v30 = a != 0 && b != 0 (chain B0, B1 into B3 for false), then B4 uses it; "before" adds instructions to B1.
    private static IrBuilder BoolChain(params IrInstr[] before)
    {
        var ir = new IrBuilder();
        // Laid out in block order: the two constant blocks, then the join.
        for (var block = 0; block <= 4; block++)
            _ = ir[block];
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.B), new LoadInstr(21, Reg.R1, 1, MemSize.B))
            .End(0, new BranchTerm(Condition.Eq, Width.W32, 20, Zero, ir[3], ir[1]));
        ir.Add(1, before).End(1, new BranchTerm(Condition.Eq, Width.W32, 21, Zero, ir[3], ir[2]));
        ir.Add(2, new ConstInstr(30, 1)).End(2, new JumpTerm(ir[4]));
        ir.Add(3, new ConstInstr(30, 0)).End(3, new JumpTerm(ir[4]));
        ir.Add(4, new StoreInstr(Reg.R1, 8, MemSize.B, Operand.Reg(30)), new ConstInstr(Reg.R0, 2)).End(4, new ExitTerm());
        return ir;
    }

    [Fact]
    public void ConstantDiamondsSetsTheChainsValueOnceBeforeIt()
    {
        var ir = BoolChain();
        ConstantDiamonds.Run(ir.Function);
        Assert.Equal(Lines(
            "B0:", "  v20 = load8 [r1+0]", "  v21 = load8 [r1+1]", "  v30 = 0", "  if32 v20 Eq 0 goto B4 else B1",
            "B1:", "  if32 v21 Eq 0 goto B4 else B2",
            "B2:", "  v30 = 1", "  goto B4",
            "B4:", "  store8 [r1+8], v30", "  r0 = 2", "  exit"), ir.Print());
    }

    [Fact]
    public void ConstantDiamondsRemovesTheBlockMoreBranchesLeadTo()
    {
        // v30 = a != 0 || b != 0: both branches lead to the first block, which goes; the second falls into the join.
        var ir = BoolChain();
        ir.Function.Blocks[0].Terminator = new BranchTerm(Condition.Ne, Width.W32, 20, Zero, ir[2], ir[1]);
        ir.Function.Blocks[1].Terminator = new BranchTerm(Condition.Ne, Width.W32, 21, Zero, ir[2], ir[3]);
        ConstantDiamonds.Run(ir.Function);
        Assert.Equal(Lines(
            "B0:", "  v20 = load8 [r1+0]", "  v21 = load8 [r1+1]", "  v30 = 1", "  if32 v20 Ne 0 goto B4 else B1",
            "B1:", "  if32 v21 Ne 0 goto B4 else B3",
            "B3:", "  v30 = 0", "  goto B4",
            "B4:", "  store8 [r1+8], v30", "  r0 = 2", "  exit"), ir.Print());
    }

    [Fact]
    public void ConstantDiamondsSetsTheTrueValueFirstForASingleCompare()
    {
        // v30 = a < b: one branch to each block. As clang does, 1 is set early and the branch jumps when it holds.
        var ir = new IrBuilder();
        for (var block = 0; block <= 3; block++)
            _ = ir[block];
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.B), new LoadInstr(21, Reg.R1, 1, MemSize.B))
            .End(0, new BranchTerm(Condition.LtUnsigned, Width.W32, 20, Operand.Reg(21), ir[1], ir[2]));
        ir.Add(1, new ConstInstr(30, 1)).End(1, new JumpTerm(ir[3]));
        ir.Add(2, new ConstInstr(30, 0)).End(2, new JumpTerm(ir[3]));
        ir.Add(3, new StoreInstr(Reg.R1, 8, MemSize.B, Operand.Reg(30)), new ConstInstr(Reg.R0, 2)).End(3, new ExitTerm());
        ConstantDiamonds.Run(ir.Function);
        Assert.Equal(Lines(
            "B0:", "  v20 = load8 [r1+0]", "  v21 = load8 [r1+1]", "  v30 = 1", "  if32 v20 LtUnsigned v21 goto B3 else B2",
            "B2:", "  v30 = 0", "  goto B3",
            "B3:", "  store8 [r1+8], v30", "  r0 = 2", "  exit"), ir.Print());
    }

    /// <summary>
    /// The chain's listing when only "v30 = 1" (B2, reached from B1 alone) can move: it is set at the end of B1, after
    /// whatever B1 does, and "v30 = 0" stays in B3.
    /// </summary>
    private static string OnlyTheSecondBranchsConstantMoved(string before)
    {
        var expected = before.Replace("  if32 v21 Eq 0 goto B3 else B2\nB2:\n  v30 = 1\n  goto B4\n", "  v30 = 1\n  if32 v21 Eq 0 goto B3 else B4\n");
        Assert.NotEqual(before, expected);
        return expected;
    }

    [Fact]
    public void ConstantDiamondsLeavesAValueThatIsReadOrWrittenOnTheWay()
    {
        // v30 already holds a value the chain reads (in B1's branch): setting it early would change that read.
        var read = BoolChain();
        read.Function.Blocks[0].Instructions.Insert(0, new LoadInstr(30, Reg.R1, 2, MemSize.B));
        read.Function.Blocks[1].Terminator = new BranchTerm(Condition.Eq, Width.W32, 21, Operand.Reg(30), read[3], read[2]);
        var before = read.Print();
        ConstantDiamonds.Run(read.Function);
        Assert.Equal(before, read.Print());

        // B1 uses v30 for a value of its own: "v30 = 0" in B0 would be overwritten before B1 branches to B3.
        var written = BoolChain(new LoadInstr(30, Reg.R1, 2, MemSize.B), new StoreInstr(Reg.R1, 5, MemSize.B, Operand.Reg(30)));
        before = written.Print();
        ConstantDiamonds.Run(written.Function);
        Assert.Equal(OnlyTheSecondBranchsConstantMoved(before), written.Print());
    }

    [Fact]
    public void ConstantDiamondsLeavesAChainWithACallOrTooManyLiveValues()
    {
        // Across B1's helper call v30 would need a callee-saved register.
        var call = BoolChain(new CallInstr(5, 0));
        var before = call.Print();
        ConstantDiamonds.Run(call.Function);
        Assert.Equal(OnlyTheSecondBranchsConstantMoved(before), call.Print());

        // Nine registers live at B0's branch (six loaded values, a, b and the context pointer): v30 would take the
        // last of the ten there, leaving the allocator nothing to spare.
        var crowded = BoolChain();
        for (var r = 40; r < 46; r++)
        {
            crowded.Function.Blocks[0].Instructions.Insert(0, new LoadInstr(r, Reg.R1, (short)r, MemSize.B));
            crowded.Function.Blocks[4].Instructions.Insert(0, new StoreInstr(Reg.R1, (short)r, MemSize.B, Operand.Reg(r)));
        }

        before = crowded.Print();
        ConstantDiamonds.Run(crowded.Function);
        Assert.Equal(OnlyTheSecondBranchsConstantMoved(before), crowded.Print());
    }

    [Fact]
    public void ConstantDiamondsNeedsOneRegisterAndTheJoinRightBehind()
    {
        // The two blocks set different registers: not one value chosen two ways.
        var twoRegisters = BoolChain();
        twoRegisters.Function.Blocks[2].Instructions[0] = new ConstInstr(31, 1);
        var before = twoRegisters.Print();
        ConstantDiamonds.Run(twoRegisters.Function);
        Assert.Equal(before, twoRegisters.Print());

        // The join is not next: the kept block would still need its goto, so nothing is gained.
        var apart = BoolChain();
        var join = apart.Function.Blocks[4];
        apart.Function.Blocks.RemoveAt(4);
        apart.Function.Blocks.Insert(2, join);
        before = apart.Print();
        ConstantDiamonds.Run(apart.Function);
        Assert.Equal(before, apart.Print());
    }

    // v30 = v20 == 0 ? v31 : v32 (both 64-bit copies), then stored; "colours" as the register allocator would give them.
    private static IrBuilder CopySelect(Width width)
    {
        var ir = new IrBuilder();
        for (var block = 0; block <= 3; block++)
            _ = ir[block];
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.B), new LoadInstr(31, Reg.R1, 1, MemSize.B), new LoadInstr(32, Reg.R1, 2, MemSize.B))
            .End(0, new BranchTerm(Condition.Eq, Width.W32, 20, Zero, ir[1], ir[2]));
        ir.Add(1, new MovInstr(30, 31, Width.W64)).End(1, new JumpTerm(ir[3]));
        ir.Add(2, new MovInstr(30, 32, width)).End(2, new JumpTerm(ir[3]));
        ir.Add(3, new StoreInstr(Reg.R1, 8, MemSize.DW, Operand.Reg(30)), new ConstInstr(Reg.R0, 2)).End(3, new ExitTerm());
        return ir;
    }

    [Fact]
    public void EmptyBlockThreadingSkipsABlockLeftWithOnlyACopyOntoItself()
    {
        var ir = CopySelect(Width.W64);
        EmptyBlockThreading.Run(ir.Function, new Dictionary<int, int> { [20] = 2, [30] = 3, [31] = 4, [32] = 3 });
        Assert.Equal(Lines(
            "B0:", "  v20 = load8 [r1+0]", "  v31 = load8 [r1+1]", "  v32 = load8 [r1+2]", "  if32 v20 Eq 0 goto B1 else B3",
            "B1:", "  v30 = mov64 v31", "  goto B3",
            "B3:", "  store64 [r1+8], v30", "  r0 = 2", "  exit"), ir.Print());
    }

    [Fact]
    public void EmptyBlockThreadingKeepsCopiesThatEmitAnInstruction()
    {
        // Different registers: the copy is a real move.
        var apart = CopySelect(Width.W64);
        var before = apart.Print();
        EmptyBlockThreading.Run(apart.Function, new Dictionary<int, int> { [20] = 2, [30] = 3, [31] = 4, [32] = 5 });
        Assert.Equal(before, apart.Print());

        // A 32-bit copy onto the same register still clears its upper half.
        var narrow = CopySelect(Width.W32);
        before = narrow.Print();
        EmptyBlockThreading.Run(narrow.Function, new Dictionary<int, int> { [20] = 2, [30] = 3, [31] = 4, [32] = 3 });
        Assert.Equal(before, narrow.Print());
    }

    [Fact]
    public void ConstantPropagationFollowsALocalsZeroAlongEveryPath()
    {
        // acc = 0; if (…) acc += x * y (B1) else { acc |= x; acc = acc * 3 } (B2); the join reads acc.
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.B), new LoadInstr(21, Reg.R1, 1, MemSize.B), new ConstInstr(30, 0))
            .End(0, new BranchTerm(Condition.GtUnsigned, Width.W32, 20, Operand.Reg(21), ir[1], ir[2]));
        ir.Add(1, new BinaryInstr(BinaryOp.Mul, Width.W32, 22, 20, Operand.Reg(21)), new BinaryInstr(BinaryOp.Add, Width.W32, 30, 30, Operand.Reg(22)))
            .End(1, new JumpTerm(ir[3]));
        ir.Add(2, new BinaryInstr(BinaryOp.Or, Width.W64, 30, 30, Operand.Reg(20)), new BinaryInstr(BinaryOp.Mul, Width.W64, 30, 30, Operand.Imm(3)))
            .End(2, new JumpTerm(ir[3]));
        ir.Add(3, new BinaryInstr(BinaryOp.Add, Width.W32, 31, 30, Operand.Reg(20)), new MovInstr(Reg.R0, 31, Width.W64)).End(3, new ExitTerm());

        ConstantPropagation.Run(ir.Function);
        var text = ir.Print();
        Assert.Contains("v30 = mov32 v22", text);
        Assert.Contains("v30 = mov64 v20", text);
        // Once acc holds x it is no longer known; after the join it is one of two values.
        Assert.Contains("v30 = mul64 v30, 3", text);
        Assert.Contains("v31 = add32 v30, v20", text);
    }

    [Fact]
    public void ConstantPropagationForgetsAConstantThatOnePathChangesOrALoopRedefines()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.B), new ConstInstr(30, 0), new ConstInstr(32, 0))
            .End(0, new BranchTerm(Condition.Eq, Width.W32, 20, Operand.Imm(0), ir[1], ir[2]));
        ir.Add(1, new ConstInstr(30, 1)).End(1, new JumpTerm(ir[2]));
        // B2 loops on itself: v32 is 0 on the first pass only.
        ir.Add(2, new BinaryInstr(BinaryOp.Add, Width.W64, 31, 30, Operand.Reg(20)), new BinaryInstr(BinaryOp.Add, Width.W64, 33, 32, Operand.Reg(20)),
                new BinaryInstr(BinaryOp.Add, Width.W64, 32, 32, Operand.Imm(1)))
            .End(2, new BranchTerm(Condition.LtUnsigned, Width.W64, 32, Operand.Imm(4), ir[2], ir[3]));
        ir.Add(3, new MovInstr(Reg.R0, 33, Width.W64)).End(3, new ExitTerm());
        var before = ir.Print();

        ConstantPropagation.Run(ir.Function);
        Assert.Equal(before, ir.Print());
    }

    [Fact]
    public void ConstantPropagationDecidesABranchOnTwoKnownValues()
    {
        var ir = new IrBuilder();
        ir.Add(0, new ConstInstr(30, 5), new LoadInstr(20, Reg.R1, 0, MemSize.B))
            .End(0, new BranchTerm(Condition.Eq, Width.W32, 20, Operand.Imm(0), ir[1], ir[2]));
        ir.Add(1, new ConstInstr(31, 5)).End(1, new JumpTerm(ir[3]));
        ir.Add(2, new MovInstr(31, 30, Width.W64)).End(2, new JumpTerm(ir[3]));
        ir.End(3, new BranchTerm(Condition.Eq, Width.W64, 31, Operand.Reg(30), ir[4], ir[5]));
        ir.Return(4, 1).Return(5, 2);

        ConstantPropagation.Run(ir.Function);
        var text = ir.Print();
        Assert.Contains("B3:\n  goto B4", text);
        Assert.DoesNotContain("B5:", text);
    }

    [Fact]
    public void DemandedBitsShiftsTheOriginalInsteadOfASwapWhenTheBitsComeFromOneByte()
    {
        IrBuilder Build(long shift, long mask, Width width = Width.W64, int bits = 64)
        {
            var ir = new IrBuilder();
            ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new SwapInstr(21, 20, bits), new MovInstr(22, 21, Width.W64),
                new BinaryInstr(BinaryOp.ShrUnsigned, width, 23, 22, Operand.Imm(shift)), new BinaryInstr(BinaryOp.And, Width.W32, 24, 23, Operand.Imm(mask)),
                new MovInstr(Reg.R0, 24, Width.W64)).End(0, new ExitTerm());
            DemandedBits.Run(ir.Function);
            return ir;
        }

        // Bits 50-51 of the swap are bits 10-11 of x (byte 6 of the swap is byte 1 of x).
        Assert.Contains("v23 = shrunsigned64 v20, 10", Build(50, 3).Print());
        // Byte 1 of a swap32 is byte 2 of x: a longer shift of x.
        Assert.Contains("v23 = shrunsigned32 v20, 16", Build(8, 0xFF, Width.W32, 32).Print());
        // The swap's top byte is x's lowest: in place (a copy), or moved up.
        Assert.Contains("v23 = mov64 v20", Build(56, 0xFF).Print());
        Assert.Contains("v23 = shl64 v20, 8", Build(48, 0xFF00).Print());
        // Bits straddling two bytes, and bits above a 16-bit swap (zero there), keep the swap.
        Assert.Contains("v23 = shrunsigned64 v22, 4", Build(4, 0xFF).Print());
        Assert.Contains("v23 = shrunsigned64 v22, 8", Build(8, 0xFF00, Width.W64, 16).Print());
    }

    [Fact]
    public void PeepholeDropsASwapPairAroundABitwiseConstant()
    {
        IrBuilder Build(MemSize load, int bits, BinaryOp op)
        {
            var ir = new IrBuilder();
            ir.Add(0, new LoadInstr(20, Reg.R1, 0, load), new SwapInstr(21, 20, bits), new BinaryInstr(op, Width.W32, 22, 21, Operand.Imm(0x8001)),
                new ExtendInstr(23, 22, bits, Signed: false, Width.W32), new SwapInstr(24, 23, bits),
                new StoreInstr(Reg.R1, 0, bits == 16 ? MemSize.H : MemSize.W, Operand.Reg(24)), new ConstInstr(Reg.R0, 2)).End(0, new ExitTerm());
            Peephole.Run(ir.Function);
            return ir;
        }

        Assert.Contains("v24 = xor32 v20, 384", Build(MemSize.H, 16, BinaryOp.Xor).Print());
        Assert.Contains("v24 = and32 v20, 25165824", Build(MemSize.W, 32, BinaryOp.And).Print());
        // x may be wider than the 16 bits swapped; and a sum does not commute with a swap.
        Assert.Contains("v24 = swap16 v22", Build(MemSize.W, 16, BinaryOp.Xor).Print());
        Assert.Contains("v24 = swap32 v22", Build(MemSize.W, 32, BinaryOp.Add).Print());
    }

    [Fact]
    public void RangeFoldingDropsAMaskThatClearsOnlyKnownZeroBits()
    {
        string Fold(MemSize load, Width width, long mask)
        {
            var ir = new IrBuilder();
            ir.Add(0, new LoadInstr(20, Reg.R1, 0, load), new BinaryInstr(BinaryOp.And, width, 21, 20, Operand.Imm(mask)),
                new StoreInstr(Reg.R1, 8, MemSize.DW, Operand.Reg(21)), new ConstInstr(Reg.R0, 2)).End(0, new ExitTerm());
            RangeFolding.Run(ir.Function);
            return ir.Print();
        }

        Assert.Contains("v21 = mov64 v20", Fold(MemSize.B, Width.W32, 0xFF));
        Assert.Contains("v21 = mov64 v20", Fold(MemSize.H, Width.W64, 0xFFFF));
        // Bits 8-15 of a 16-bit load may be set; a 32-bit mask of a 64-bit value also clears its upper half.
        Assert.Contains("v21 = and32 v20, 255", Fold(MemSize.H, Width.W32, 0xFF));
        Assert.Contains("v21 = and32 v20, -1", Fold(MemSize.DW, Width.W32, -1));
    }

    [Fact]
    public void CfgSimplificationThreadsAJumpIntoABranchOnConstantsItSet()
    {
        IrBuilder Build(IrInstr join)
        {
            var ir = new IrBuilder();
            ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.B)).End(0, new BranchTerm(Condition.Eq, Width.W32, 20, Operand.Imm(7), ir[1], ir[2]));
            ir.Add(1, new ConstInstr(30, 1)).End(1, new JumpTerm(ir[3]));
            ir.Add(2, new ConstInstr(30, 0)).End(2, new JumpTerm(ir[3]));
            ir.Add(3, join).End(3, new JumpTerm(ir[4]));
            ir.End(4, new BranchTerm(Condition.Ne, Width.W32, 31, Operand.Imm(0), ir[5], ir[6]));
            ir.Add(5, new MovInstr(Reg.R0, 31, Width.W64)).End(5, new ExitTerm());
            ir.Return(6, 2);
            CfgSimplification.Run(ir.Function);
            return ir;
        }

        // Each way in knows v30, so the copy's value and the branch: both go straight to their return.
        var text = Build(new MovInstr(31, 30, Width.W64)).Print();
        Assert.DoesNotContain("v31 Ne", text);
        Assert.Contains("v30 = 1\n  v31 = mov64 v30\n  r0 = mov64 v31\n  exit", text);
        Assert.Contains("v30 = 0\n  v31 = mov64 v30\n  r0 = 2\n  exit", text);
        // Through anything but a copy or a constant the value is not followed.
        Assert.Contains("if32 v31 Ne 0", Build(new BinaryInstr(BinaryOp.Add, Width.W64, 31, 30, Operand.Reg(20))).Print());
    }

    // Two bools from packet bits (v21, v23), then "if v21 <first> 0 goto B1 else B2; B1: [moved] if v23 <second> 0 goto B3 else B2";
    // B2 returns 1, B3 returns 2, and v21 and v23 are stored in B2 when they live on.
    private static IrBuilder BoolPair(Condition first, Condition second, bool liveOn = false, IrInstr? moved = null)
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.B), new BinaryInstr(BinaryOp.And, Width.W32, 21, 20, Operand.Imm(1)),
                new LoadInstr(22, Reg.R1, 1, MemSize.B), new BinaryInstr(BinaryOp.And, Width.W32, 23, 22, Operand.Imm(1)))
            .End(0, new BranchTerm(first, Width.W32, 21, Zero, ir[1], ir[2]));
        if (moved is not null)
            ir.Add(1, moved);
        ir.End(1, new BranchTerm(second, Width.W32, 23, Zero, ir[3], ir[2]));
        if (liveOn)
            ir.Add(2, new StoreInstr(Reg.R1, 2, MemSize.B, Operand.Reg(21)), new StoreInstr(Reg.R1, 3, MemSize.B, Operand.Reg(23)));
        ir.Return(2, 1);
        ir.Return(3, 2);
        return ir;
    }

    private static string[] BoolPairHead => new[] { "B0:", "  v20 = load8 [r1+0]", "  v21 = and32 v20, 1", "  v22 = load8 [r1+1]", "  v23 = and32 v22, 1" };

    [Fact]
    public void BooleanBranchMergingTestsOneSetAndOneClearBoolAsOneCompare()
    {
        // B3 runs when v21 is set and v23 clear: v21 > v23, with no instruction for it.
        var ir = BoolPair(Condition.Ne, Condition.Eq);
        BooleanBranchMerging.Run(ir.Function);
        Assert.Equal(Lines([.. BoolPairHead, "  if32 v21 GtUnsigned v23 goto B3 else B2",
            "B2:", "  r0 = 1", "  exit", "B3:", "  r0 = 2", "  exit"]), ir.Print());

        // Clear then set: the second is the larger.
        ir = BoolPair(Condition.Eq, Condition.Ne);
        BooleanBranchMerging.Run(ir.Function);
        Assert.Contains("  if32 v23 GtUnsigned v21 goto B3 else B2", ir.Print());
    }

    [Fact]
    public void BooleanBranchMergingCombinesTwoSetBoolsWhenOneOfThemDiesThere()
    {
        var ir = BoolPair(Condition.Ne, Condition.Ne);
        BooleanBranchMerging.Run(ir.Function);
        Assert.Equal(Lines([.. BoolPairHead, "  v100 = and32 v21, v23", "  if32 v100 Ne 0 goto B3 else B2",
            "B2:", "  r0 = 1", "  exit", "B3:", "  r0 = 2", "  exit"]), ir.Print());

        ir = BoolPair(Condition.Eq, Condition.Eq);
        BooleanBranchMerging.Run(ir.Function);
        Assert.Contains("  v100 = or32 v21, v23\n  if32 v100 Eq 0 goto B3 else B2", ir.Print());

        // Both live on in B2: the bitwise form would need a copy as well, two instructions for one branch.
        ir = BoolPair(Condition.Ne, Condition.Ne, liveOn: true);
        var before = ir.Print();
        BooleanBranchMerging.Run(ir.Function);
        Assert.Equal(before, ir.Print());

        // The compare form costs nothing, so it is made whatever lives on.
        ir = BoolPair(Condition.Ne, Condition.Eq, liveOn: true);
        BooleanBranchMerging.Run(ir.Function);
        Assert.Contains("if32 v21 GtUnsigned v23 goto B3 else B2", ir.Print());
    }

    [Fact]
    public void BooleanBranchMergingMovesUpOneCheapInstructionDeadOnTheOtherWay()
    {
        // r0 = 5 before the second test: B2 sets r0 itself, so running it on the way to B2 changes nothing.
        var ir = BoolPair(Condition.Ne, Condition.Eq, moved: new ConstInstr(Reg.R0, 5));
        ir[3].Instructions.Clear();
        BooleanBranchMerging.Run(ir.Function);
        Assert.Equal(Lines([.. BoolPairHead, "  r0 = 5", "  if32 v21 GtUnsigned v23 goto B3 else B2",
            "B2:", "  r0 = 1", "  exit", "B3:", "  exit"]), ir.Print());
    }

    [Fact]
    public void BooleanBranchMergingLeavesWhatItCannotProveOrWouldChange()
    {
        void Unchanged(IrBuilder ir)
        {
            var before = ir.Print();
            BooleanBranchMerging.Run(ir.Function);
            Assert.Equal(before, ir.Print());
        }

        // Not a bool: a byte is not 0 or 1, and "set" is not "equal to 1".
        var wide = BoolPair(Condition.Ne, Condition.Eq);
        wide.Function.Blocks[1].Terminator = ((BranchTerm)wide.Function.Blocks[1].Terminator!) with { Left = 22 };
        Unchanged(wide);

        // A compare with 2 is not a test of a bool.
        var two = BoolPair(Condition.Ne, Condition.Eq);
        two.Function.Blocks[0].Terminator = ((BranchTerm)two.Function.Blocks[0].Terminator!) with { Right = Operand.Imm(2) };
        Unchanged(two);

        // B1 entered from elsewhere as well: its test must stay for that way in.
        var shared = BoolPair(Condition.Ne, Condition.Eq);
        shared.Function.Blocks[2].Terminator = new JumpTerm(shared[1]);
        shared.Function.Blocks[2].Instructions.Clear();
        Unchanged(shared);

        // v23 is written only on the way where v21 is set, so B1 reads it only then: tested in B0 it could be unset.
        var unset = new IrBuilder();
        unset.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.B), new BinaryInstr(BinaryOp.And, Width.W32, 21, 20, Operand.Imm(1)))
            .End(0, new BranchTerm(Condition.Ne, Width.W32, 21, Zero, unset[4], unset[5]));
        unset.Add(4, new LoadInstr(22, Reg.R1, 1, MemSize.B), new BinaryInstr(BinaryOp.And, Width.W32, 23, 22, Operand.Imm(1)))
            .End(4, new JumpTerm(unset[5]));
        unset.End(5, new BranchTerm(Condition.Ne, Width.W32, 21, Zero, unset[1], unset[2]));
        unset.End(1, new BranchTerm(Condition.Eq, Width.W32, 23, Zero, unset[3], unset[2]));
        unset.Return(2, 1).Return(3, 2);
        Unchanged(unset);

        // What B1 does first would now run on the way to B2: not a store, not a value B2 reads.
        Unchanged(BoolPair(Condition.Ne, Condition.Eq, moved: new StoreInstr(Reg.R1, 4, MemSize.B, Operand.Imm(1))));
        var readInB2 = BoolPair(Condition.Ne, Condition.Eq, moved: new ConstInstr(30, 5));
        readInB2.Function.Blocks[2].Instructions.Insert(0, new StoreInstr(Reg.R1, 4, MemSize.B, Operand.Reg(30)));
        Unchanged(readInB2);
    }

    // v30 = 0xFFFFFFFF in B0, compared; then v31 = value in B1 (B0's only successor but one), stored; both coloured r2.
    private static IrBuilder SameConstantTwice(long second, IrInstr? between = null)
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.W), new ConstInstr(30, 0xFFFFFFFF))
            .End(0, new BranchTerm(Condition.Eq, Width.W64, 20, Operand.Reg(30), ir[2], ir[1]));
        if (between is not null)
            ir.Add(1, between);
        ir.Add(1, new ConstInstr(31, second), new StoreInstr(Reg.R1, 8, MemSize.DW, Operand.Reg(31))).Return(1, 2);
        ir.Return(2, 1);
        return ir;
    }

    private static readonly Dictionary<int, int> SameConstantColours = new() { [20] = 3, [30] = 2, [31] = 2, [32] = 2 };

    [Fact]
    public void RedundantConstantsDropsAConstantItsRegisterAlreadyHolds()
    {
        var ir = SameConstantTwice(0xFFFFFFFF);
        RedundantConstants.Run(ir.Function, SameConstantColours);
        Assert.Equal(Lines(
            "B0:", "  v20 = load32 [r1+0]", "  v30 = 4294967295", "  if v20 Eq v30 goto B2 else B1",
            "B2:", "  r0 = 1", "  exit",
            "B1:", "  store64 [r1+8], v31", "  r0 = 2", "  exit"), ir.Print());

        // A 32-bit copy of a known register holds its low half.
        ir = SameConstantTwice(0xFFFFFFFF, new MovInstr(32, 30, Width.W32));
        ir.Function.Blocks[0].Instructions[1] = new ConstInstr(30, -1);
        RedundantConstants.Run(ir.Function, SameConstantColours);
        Assert.DoesNotContain("v31 = ", ir.Print());
    }

    [Fact]
    public void RedundantConstantsForgetsWhatAnotherWriteOrAnotherWayInChanges()
    {
        void Kept(IrBuilder ir)
        {
            var before = ir.Print();
            RedundantConstants.Run(ir.Function, SameConstantColours);
            Assert.Equal(before, ir.Print());
        }

        Kept(SameConstantTwice(0xFFFF));
        Kept(SameConstantTwice(-1));
        Kept(SameConstantTwice(0xFFFFFFFF, new LoadInstr(32, Reg.R1, 4, MemSize.W)));
        Kept(SameConstantTwice(0xFFFFFFFF, new BinaryInstr(BinaryOp.Add, Width.W64, 32, 32, Operand.Imm(1))));
        // A helper call clobbers r1-r5; a fetching atomic writes the old value into its operand's register.
        Kept(SameConstantTwice(0xFFFFFFFF, new CallInstr(5, 0)));
        Kept(SameConstantTwice(0xFFFFFFFF, new AtomicInstr(AtomicOp.Add, 20, 0, MemSize.W, 30, 20)));

        // B1 is also entered from B2, where r2 may hold anything.
        var twoWays = SameConstantTwice(0xFFFFFFFF);
        twoWays.Function.Blocks[2].Instructions.Insert(0, new ConstInstr(32, 7));
        twoWays.Function.Blocks[2].Terminator = new JumpTerm(twoWays[1]);
        Kept(twoWays);
    }

    // "t0 = p[0]; t1 = p[1]; p[0] = p[6]; p[1] = p[7]; p[6] = t0; p[7] = t1" (a two-byte MAC swap), p in v20.
    private static IrBuilder TwoByteSwap(IrInstr? between = null)
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW),
            new LoadInstr(21, 20, 0, MemSize.B), new LoadInstr(22, 20, 1, MemSize.B),
            new LoadInstr(23, 20, 6, MemSize.B), new StoreInstr(20, 0, MemSize.B, Operand.Reg(23)));
        if (between is not null)
            ir.Add(0, between);
        ir.Add(0, new LoadInstr(24, 20, 7, MemSize.B), new StoreInstr(20, 1, MemSize.B, Operand.Reg(24)),
            new StoreInstr(20, 6, MemSize.B, Operand.Reg(21)), new StoreInstr(20, 7, MemSize.B, Operand.Reg(22)));
        ir.Return(0, 2);
        return ir;
    }

    [Fact]
    public void LoadStoreMotionPairsTheBytesOfASwap()
    {
        var ir = TwoByteSwap();
        LoadStoreMotion.Run(ir.Function);
        Assert.Equal(Lines("B0:", "  v20 = load64 [r1+0]",
            "  v23 = load8 [v20+6]", "  v21 = load8 [v20+0]", "  store8 [v20+6], v21", "  store8 [v20+0], v23",
            "  v24 = load8 [v20+7]", "  v22 = load8 [v20+1]", "  store8 [v20+7], v22", "  store8 [v20+1], v24",
            "  r0 = 2", "  exit"), ir.Print());
    }

    [Fact]
    public void LoadStoreMotionKeepsTheOrderOfWhatMayTouchTheSameBytes()
    {
        // A store through another register may write any of the bytes: nothing crosses it. Above it the first pair
        // forms and the second byte's load waits just above it; below it the rest forms around the last load.
        foreach (var barrier in new IrInstr[] { new StoreInstr(30, 0, MemSize.B, Operand.Imm(0)), new CallInstr(5, 0) })
        {
            var ir = TwoByteSwap(barrier);
            ir.Function.Blocks[0].Instructions.Insert(0, new LoadInstr(30, Reg.R1, 8, MemSize.DW));
            LoadStoreMotion.Run(ir.Function);
            var shown = barrier is CallInstr ? "call 5/0" : "store8 [v30+0], 0";
            Assert.Equal(Lines("B0:", "  v30 = load64 [r1+8]", "  v20 = load64 [r1+0]",
                "  v23 = load8 [v20+6]", "  v21 = load8 [v20+0]", "  store8 [v20+0], v23", "  v22 = load8 [v20+1]", "  " + shown,
                "  store8 [v20+6], v21", "  v24 = load8 [v20+7]", "  store8 [v20+7], v22", "  store8 [v20+1], v24",
                "  r0 = 2", "  exit"), ir.Print());
        }
    }

    [Fact]
    public void LoadStoreMotionLeavesALoadAndItsExtensionTogether()
    {
        // cpu v4 fuses "load8; sext8to64" into one signed load only when they are adjacent.
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new LoadInstr(29, Reg.R1, 8, MemSize.B), new LoadInstr(30, 20, 2, MemSize.B),
            new LoadInstr(21, 20, 0, MemSize.B), new ExtendInstr(22, 21, 8, true, Width.W64), new StoreInstr(20, 0, MemSize.B, Operand.Reg(29)),
            new MovInstr(Reg.R0, 22, Width.W64), new BinaryInstr(BinaryOp.Add, Width.W64, Reg.R0, Reg.R0, Operand.Reg(30))).End(0, new ExitTerm());
        var before = ir.Print();
        LoadStoreMotion.Run(ir.Function);
        Assert.Equal(before, ir.Print());
    }

    [Fact]
    public void LoadStoreMotionDoesNotCarryALoadPastAWriteOfItsBase()
    {
        // In a loop a register defined once is written again each round: "x = p[0]; p = next; use x" reads the old p.
        var ir = new IrBuilder();
        ir.End(0, new JumpTerm(ir[1]));
        ir.Add(1, new LoadInstr(21, 20, 0, MemSize.B), new LoadInstr(20, Reg.R1, 8, MemSize.DW),
                new BinaryInstr(BinaryOp.Add, Width.W64, 22, 21, Operand.Imm(1)), new StoreInstr(Reg.R10, -16, MemSize.B, Operand.Reg(22)))
            .End(1, new BranchTerm(Condition.Eq, Width.W64, 22, Zero, ir[1], ir[2]));
        ir.Return(2, 2);
        LoadStoreMotion.Run(ir.Function);
        Assert.Contains("B1:\n  v21 = load8 [v20+0]\n  v20 = load64 [r1+8]", ir.Print());
    }

    [Fact]
    public void ConstantPropagationMakesAKnownRightOperandAnImmediate()
    {
        // Interlocked.Increment: fetch-and-add of a copy of a register holding 1 (the old value comes back in the
        // copy), then the 1 added to the old value.
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new ConstInstr(21, 1), new MovInstr(22, 21, Width.W64),
            new AtomicInstr(AtomicOp.Add, 20, 0, MemSize.W, 22, 22),
            new BinaryInstr(BinaryOp.Add, Width.W32, 23, 22, Operand.Reg(21)),
            // Not a divisor, and not a shift count the verifier would refuse as an immediate.
            new ConstInstr(24, 0), new BinaryInstr(BinaryOp.DivUnsigned, Width.W64, 25, 23, Operand.Reg(24)),
            new ConstInstr(26, 40), new BinaryInstr(BinaryOp.Shl, Width.W32, 27, 25, Operand.Reg(26)),
            new ConstInstr(28, 0x1_0000_0001), new BinaryInstr(BinaryOp.Xor, Width.W32, 29, 27, Operand.Reg(28)),
            new BinaryInstr(BinaryOp.Xor, Width.W64, 30, 29, Operand.Reg(28)),
            new MovInstr(Reg.R0, 30, Width.W64)).End(0, new ExitTerm());
        ConstantPropagation.Run(ir.Function);
        var text = ir.Print();
        Assert.Contains("v23 = add32 v22, 1", text);
        Assert.Contains("v25 = divunsigned64 v23, v24", text);
        Assert.Contains("v27 = shl32 v25, v26", text);
        // A 32-bit operation reads the low half; a 64-bit one needs the constant to fit a sign-extended immediate.
        Assert.Contains("v29 = xor32 v27, 1", text);
        Assert.Contains("v30 = xor64 v29, v28", text);
    }

    [Fact]
    public void RangeFoldingComparesTheOperandOfASumWithTheConstantMoved()
    {
        // inc = old + 1 (old fetched by an atomic that also wrote it once before); if (inc == 0) -> if (old == -1).
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new ConstInstr(21, 1), new AtomicInstr(AtomicOp.Add, 20, 0, MemSize.W, 21, 21),
                new BinaryInstr(BinaryOp.Add, Width.W32, 22, 21, Operand.Imm(1)), new LoadInstr(23, Reg.R1, 8, MemSize.DW),
                new BinaryInstr(BinaryOp.Sub, Width.W32, 24, 23, Operand.Imm(5)))
            .End(0, new BranchTerm(Condition.Eq, Width.W32, 22, Zero, ir[1], ir[2]));
        // A 64-bit compare of a 32-bit difference: the difference's upper half is zero, x's need not be.
        ir.End(1, new BranchTerm(Condition.Ne, Width.W64, 24, Operand.Imm(7), ir[2], ir[3]));
        ir.Return(2, 1).Return(3, 2);
        RangeFolding.Run(ir.Function);
        var text = ir.Print();
        Assert.Contains("if32 v21 Eq -1 goto B1 else B2", text);
        Assert.Contains("if v24 Ne 7 goto B2 else B3", text);

        // The operand written again after the sum (a local): the compare must see the sum's operand, so it stays.
        var later = new IrBuilder();
        later.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.W), new BinaryInstr(BinaryOp.Add, Width.W32, 22, 20, Operand.Imm(1)),
                new LoadInstr(20, Reg.R1, 4, MemSize.W))
            .End(0, new BranchTerm(Condition.Eq, Width.W32, 22, Zero, later[1], later[2]));
        later.Return(1, 1).Return(2, 2);
        RangeFolding.Run(later.Function);
        Assert.Contains("if32 v22 Eq 0 goto B1 else B2", later.Print());
    }

    [Fact]
    public void RedundancyEliminationDropsAStoreALaterOneOverwritesUnread()
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.DW), new LoadInstr(21, Reg.R1, 8, MemSize.DW),
            new StoreInstr(20, 0, MemSize.DW, Operand.Reg(21)), new StoreInstr(20, 8, MemSize.W, Operand.Reg(21)),
            new StoreInstr(20, 0, MemSize.DW, Operand.Imm(0)),
            // Read in between through the same register: kept.
            new StoreInstr(20, 16, MemSize.W, Operand.Imm(1)), new LoadInstr(22, 20, 16, MemSize.B), new StoreInstr(20, 16, MemSize.W, Operand.Imm(2)),
            // Through another register, which may point at the same bytes: kept.
            new StoreInstr(20, 24, MemSize.W, Operand.Imm(1)), new LoadInstr(23, 21, 0, MemSize.B), new StoreInstr(20, 24, MemSize.W, Operand.Imm(2)),
            // Only partly overwritten: kept.
            new StoreInstr(20, 32, MemSize.W, Operand.Imm(1)), new StoreInstr(20, 34, MemSize.H, Operand.Imm(2)),
            // A helper call may read memory (a key on the stack): kept.
            new StoreInstr(Reg.R10, -8, MemSize.W, Operand.Imm(1)), new CallInstr(1, 2), new StoreInstr(Reg.R10, -8, MemSize.W, Operand.Imm(2)),
            new BinaryInstr(BinaryOp.Add, Width.W64, 24, 22, Operand.Reg(23)), new MovInstr(Reg.R0, 24, Width.W64)).End(0, new ExitTerm());
        RedundancyElimination.Run(ir.Function);
        var text = ir.Print();
        Assert.DoesNotContain("store64 [v20+0], v21", text);
        Assert.Contains("store32 [v20+8], v21", text);
        Assert.Contains("store32 [v20+16], 1", text);
        Assert.Contains("store32 [v20+24], 1", text);
        Assert.Contains("store32 [v20+32], 1", text);
        Assert.Contains("store32 [r10-8], 1", text);
    }

    // if (x has bit 8) { if (y > 1000) return 1; } return 2 — the "set" block comes next and must fall through.
    private static IrBuilder BitThenCompare(bool xReadAfter)
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, MemSize.H), new LoadInstr(21, Reg.R1, 2, MemSize.H))
            .End(0, new BranchTerm(Condition.Set, Width.W32, 20, Operand.Imm(0x100), ir[1], ir[2]));
        ir.End(1, new BranchTerm(Condition.GtSigned, Width.W32, 21, Operand.Imm(1000), ir[3], ir[2]));
        if (xReadAfter)
            ir.Add(2, new StoreInstr(Reg.R1, 4, MemSize.H, Operand.Reg(20)));
        ir.Return(2, 2).Return(3, 1);
        return ir;
    }

    [Fact]
    public void BlockLayoutMasksABitTestWhoseClearTargetMustBeJumpedTo()
    {
        // B2 cannot come right behind B0 (B1 falls into it): jset would need a goto to B2 after it.
        var ir = BitThenCompare(xReadAfter: false);
        BlockLayout.Run(ir.Function);
        Assert.Equal(Lines("B0:", "  v20 = load16 [r1+0]", "  v21 = load16 [r1+2]", "  v100 = and32 v20, 256", "  if32 v100 Eq 0 goto B2 else B1",
            "B1:", "  if32 v21 GtSigned 1000 goto B3 else B2", "B2:", "  r0 = 2", "  exit", "B3:", "  r0 = 1", "  exit"), ir.Print());

        // x read again later: the mask would need a copy as well, so the jset stays.
        ir = BitThenCompare(xReadAfter: true);
        BlockLayout.Run(ir.Function);
        Assert.Contains("if32 v20 Set 256 goto B1 else B2", ir.Print());
    }

    // "if (x <first> K1) return 2 (B2); if (x <second> K2) return 1 (B3); return 2", x loaded in B0.
    private static IrBuilder TwoCompares(Width width, Condition first, long k1, Condition second, long k2, bool xReadAfter = false)
    {
        var ir = new IrBuilder();
        ir.Add(0, new LoadInstr(20, Reg.R1, 0, width == Width.W32 ? MemSize.W : MemSize.DW))
            .End(0, new BranchTerm(first, width, 20, Operand.Imm(k1), ir[2], ir[1]));
        ir.End(1, new BranchTerm(second, width, 20, Operand.Imm(k2), ir[3], ir[2]));
        if (xReadAfter)
            ir.Add(2, new StoreInstr(Reg.R1, 8, MemSize.W, Operand.Reg(20)));
        ir.Return(2, 2).Return(3, 1);
        return ir;
    }

    [Fact]
    public void RangeChecksMakeTwoComparesOneUnsignedCompareOfAnOffset()
    {
        // port >= 1000 && port < 2000 (signed, as C# compares ints): (port - 1000) <u 1000.
        var ir = TwoCompares(Width.W32, Condition.LtSigned, 1000, Condition.LtSigned, 2000);
        RangeChecks.Run(ir.Function);
        Assert.Equal(Lines("B0:", "  v20 = load32 [r1+0]", "  v100 = sub32 v20, 1000", "  if32 v100 LtUnsigned 1000 goto B3 else B2",
            "B2:", "  r0 = 2", "  exit", "B3:", "  r0 = 1", "  exit"), ir.Print());

        // -5 <= x <= 5 at 64 bits: the start is negative, a sign-extended immediate.
        ir = TwoCompares(Width.W64, Condition.LtSigned, -5, Condition.LeSigned, 5);
        RangeChecks.Run(ir.Function);
        Assert.Contains("  v100 = sub64 v20, -5\n  if v100 LtUnsigned 11 goto B3 else B2", ir.Print());

        // Signed then unsigned: x >= 0 (signed) && x <u 100 is [0, 99], x itself below 100 (read later or not).
        ir = TwoCompares(Width.W32, Condition.LtSigned, 0, Condition.LtUnsigned, 100, xReadAfter: true);
        RangeChecks.Run(ir.Function);
        Assert.Contains("  v20 = load32 [r1+0]\n  if32 v20 LtUnsigned 100 goto B3 else B2", ir.Print());
    }

    [Fact]
    public void RangeChecksLeaveTwoPiecesAndLiveRegistersAlone()
    {
        void Unchanged(IrBuilder ir)
        {
            var before = ir.Print();
            RangeChecks.Run(ir.Function);
            Assert.Equal(before, ir.Print());
        }

        // x != 5 && x <u 10 is [0, 4] and [6, 9]: two runs, not one compare.
        Unchanged(TwoCompares(Width.W32, Condition.Eq, 5, Condition.LtUnsigned, 10));
        // x read again on the way out: the offset would need a copy of x.
        Unchanged(TwoCompares(Width.W32, Condition.LtSigned, 1000, Condition.LtSigned, 2000, xReadAfter: true));
        // A bit test is not a run of values.
        Unchanged(TwoCompares(Width.W32, Condition.Set, 4, Condition.LtSigned, 2000));
    }
}

using XdpCompiler.Core.Bpf;
using Xunit;
using static XdpCompiler.Core.Bpf.Reg;

namespace XdpCompiler.Core.Tests.Disassembly;

/// <summary>
/// One instruction at a time, with the text llvm-objdump-19 prints for it (each expectation was checked against the
/// real tool; the LLVM comparison tests cover the same ground exhaustively where clang is installed).
/// </summary>
public sealed class DisassemblerFormatTests
{
    public static TheoryData<Instruction, string> Instructions => new()
    {
        // Immediates are hex, negatives as "-0x..", the 32-bit range edges included.
        { Instruction.Mov64(R0, 2), "r0 = 0x2" },
        { Instruction.Mov64(R1, 0), "r1 = 0x0" },
        { Instruction.Mov64(R1, -1), "r1 = -0x1" },
        { Instruction.Mov64(R1, int.MaxValue), "r1 = 0x7fffffff" },
        { Instruction.Mov32(R1, int.MinValue), "w1 = -0x80000000" },
        { Instruction.Mov32(R1, 255), "w1 = 0xff" },
        { Instruction.Alu32(AluOp.Add, R1, 4), "w1 += 0x4" },
        { Instruction.Alu64(AluOp.Add, R2, -4), "r2 += -0x4" },
        { Instruction.Alu64(AluOp.Sub, R1, 1), "r1 -= 0x1" },
        { Instruction.Alu64(AluOp.Mul, R1, 3), "r1 *= 0x3" },
        { Instruction.Alu64(AluOp.Div, R1, 3), "r1 /= 0x3" },
        { Instruction.Alu64(AluOp.Or, R1, 0x80), "r1 |= 0x80" },
        { Instruction.Alu64(AluOp.And, R1, 0xff), "r1 &= 0xff" },
        { Instruction.Alu64(AluOp.Lsh, R1, 32), "r1 <<= 0x20" },
        { Instruction.Alu64(AluOp.Rsh, R1, 32), "r1 >>= 0x20" },
        { Instruction.Alu64(AluOp.Mod, R1, 7), "r1 %= 0x7" },
        { Instruction.Alu64(AluOp.Xor, R1, -2), "r1 ^= -0x2" },
        { Instruction.Alu64(AluOp.Arsh, R1, 63), "r1 s>>= 0x3f" },
        { Instruction.Alu64(AluOp.Neg, R1, 0), "r1 = -r1" },
        { Instruction.Alu32(AluOp.Neg, R3, 0), "w3 = -w3" },
        { Instruction.Mov64Reg(R2, R10), "r2 = r10" },
        { Instruction.Mov32Reg(R0, R9), "w0 = w9" },
        { Instruction.Alu64Reg(AluOp.Add, R1, R2), "r1 += r2" },
        { Instruction.Alu32Reg(AluOp.Arsh, R1, R2), "w1 s>>= w2" },
        { Instruction.Alu32Reg(AluOp.Mod, R8, R9), "w8 %= w9" },

        // Byte swaps print with r registers even in the 32-bit class.
        { Instruction.ToBigEndian(R1, 16), "r1 = be16 r1" },
        { Instruction.ToBigEndian(R2, 32), "r2 = be32 r2" },
        { Instruction.ToBigEndian(R3, 64), "r3 = be64 r3" },
        { Instruction.ToLittleEndian(R1, 16), "r1 = le16 r1" },

        // cpu v4: movsx, sdiv/smod (off = 1), bswap, ldsx.
        { new Instruction(0xbf, R1, R2, 8, 0), "r1 = (s8)r2" },
        { new Instruction(0xbf, R1, R2, 16, 0), "r1 = (s16)r2" },
        { new Instruction(0xbf, R1, R2, 32, 0), "r1 = (s32)r2" },
        { new Instruction(0xbc, R1, R2, 8, 0), "w1 = (s8)w2" },
        { new Instruction(0x37, R1, 0, 1, -3), "r1 s/= -0x3" },
        { new Instruction(0x9f, R1, R2, 1, 0), "r1 s%= r2" },
        { new Instruction(0x3c, R1, R2, 1, 0), "w1 s/= w2" },
        { new Instruction(0xd7, R1, 0, 0, 16), "r1 = bswap16 r1" },
        { new Instruction(0xd7, R1, 0, 0, 64), "r1 = bswap64 r1" },
        { new Instruction(0x91, R1, R10, -1, 0), "r1 = *(s8 *)(r10 - 0x1)" },
        { new Instruction(0x89, R1, R10, -2, 0), "r1 = *(s16 *)(r10 - 0x2)" },
        { new Instruction(0x81, R1, R10, -4, 0), "r1 = *(s32 *)(r10 - 0x4)" },
        { new Instruction(0xbf, R1, R2, 1, 0x00010000), "r1 = addr_space_cast(r2, 0x1, 0x0)" },

        // Memory: offsets as " + 0x.." / " - 0x..", to the ends of the 16-bit range.
        { Instruction.Load(MemSize.H, R1, R2, 12), "r1 = *(u16 *)(r2 + 0xc)" },
        { Instruction.Load(MemSize.B, R1, R2, 0), "r1 = *(u8 *)(r2 + 0x0)" },
        { Instruction.Load(MemSize.W, R2, R1, 4), "r2 = *(u32 *)(r1 + 0x4)" },
        { Instruction.Load(MemSize.DW, R3, R10, -8), "r3 = *(u64 *)(r10 - 0x8)" },
        { Instruction.Load(MemSize.B, R4, R1, short.MaxValue), "r4 = *(u8 *)(r1 + 0x7fff)" },
        { Instruction.Load(MemSize.B, R4, R1, short.MinValue), "r4 = *(u8 *)(r1 - 0x8000)" },
        { Instruction.Store(MemSize.W, R10, -4, R2), "*(u32 *)(r10 - 0x4) = r2" },
        { Instruction.Store(MemSize.DW, R2, 16, R0), "*(u64 *)(r2 + 0x10) = r0" },
        { Instruction.StoreImm(MemSize.B, R10, -1, 0), "*(u8 *)(r10 - 0x1) = 0x0" },
        { Instruction.StoreImm(MemSize.DW, R10, -16, -1), "*(u64 *)(r10 - 0x10) = -0x1" },
        { Instruction.StoreImm(MemSize.H, R1, 2, 0x1234), "*(u16 *)(r1 + 0x2) = 0x1234" },

        // Legacy packet loads: always r0, the skb implicit in r6.
        { new Instruction(0x30, 0, 0, 0, 23), "r0 = *(u8 *)skb[0x17]" },
        { new Instruction(0x20, 0, 0, 0, -4), "r0 = *(u32 *)skb[-0x4]" },
        { new Instruction(0x48, 0, R7, 0, 0), "r0 = *(u16 *)skb[r7]" },

        // Atomics: without alu32 LLVM knows only the 32-bit add, and shows it without fetch.
        { Instruction.Atomic(MemSize.DW, AtomicOp.Add, R0, 0, R1), "lock *(u64 *)(r0 + 0x0) += r1" },
        { Instruction.Atomic(MemSize.DW, AtomicOp.Or, R10, -8, R1), "lock *(u64 *)(r10 - 0x8) |= r1" },
        { Instruction.Atomic(MemSize.DW, AtomicOp.And, R10, -8, R1), "lock *(u64 *)(r10 - 0x8) &= r1" },
        { Instruction.Atomic(MemSize.DW, AtomicOp.Xor, R10, -8, R1), "lock *(u64 *)(r10 - 0x8) ^= r1" },
        { Instruction.Atomic(MemSize.DW, AtomicOp.Add | AtomicOp.Fetch, R3, 0, R1), "r1 = atomic_fetch_add((u64 *)(r3 + 0x0), r1)" },
        { Instruction.Atomic(MemSize.DW, AtomicOp.And | AtomicOp.Fetch, R3, 0, R1), "r1 = atomic_fetch_and((u64 *)(r3 + 0x0), r1)" },
        { Instruction.Atomic(MemSize.DW, AtomicOp.Xchg, R10, -8, R1), "r1 = xchg_64(r10 - 0x8, r1)" },
        { Instruction.Atomic(MemSize.DW, AtomicOp.CmpXchg, R3, 0, R4), "r0 = cmpxchg_64(r3 + 0x0, r0, r4)" },
        { Instruction.Atomic(MemSize.W, AtomicOp.Add, R1, 0, R0), "lock *(u32 *)(r1 + 0x0) += r0" },
        { Instruction.Atomic(MemSize.W, AtomicOp.Add | AtomicOp.Fetch, R1, 0, R0), "lock *(u32 *)(r1 + 0x0) += r0" },
        { Instruction.Atomic(MemSize.W, AtomicOp.Or, R1, 0, R0), Disassembler.UnknownText },
        { Instruction.Atomic(MemSize.W, AtomicOp.CmpXchg, R1, 0, R0), Disassembler.UnknownText },

        // Jumps: offsets signed with an explicit "+", K and X, 64- and 32-bit.
        { Instruction.JumpReg(JmpOp.Jgt, R3, R2, 22), "if r3 > r2 goto +0x16" },
        { Instruction.Jump(JmpOp.Jeq, R0, 0, 2), "if r0 == 0x0 goto +0x2" },
        { Instruction.Jump(JmpOp.Jne, R1, -1, -3), "if r1 != -0x1 goto -0x3" },
        { Instruction.Jump(JmpOp.Jset, R1, 0x80, 0), "if r1 & 0x80 goto +0x0" },
        { Instruction.Jump(JmpOp.Jsge, R1, 6, 1), "if r1 s>= 0x6 goto +0x1" },
        { Instruction.JumpReg(JmpOp.Jslt, R1, R10, -32768), "if r1 s< r10 goto -0x8000" },
        { Instruction.Jump32(JmpOp.Jsgt, R1, -5, 1), "if w1 s> -0x5 goto +0x1" },
        { Instruction.Jump32Reg(JmpOp.Jle, R1, R2, 7), "if w1 <= w2 goto +0x7" },
        { Instruction.Goto(11), "goto +0xb" },
        { Instruction.Goto(-1), "goto -0x1" },
        { new Instruction(0x06, 0, 0, 0, -2), "gotol -0x2" },
        { new Instruction(0x06, 0, 0, 0, 70000), "gotol +0x11170" },
        { new Instruction(0xe5, 0, 0, 1, 0), "may_goto +0x1" },
        { Instruction.CallHelper(1), "call 0x1" },
        { Instruction.CallHelper(51), "call 0x33" },
        { Instruction.CallLocal(-1), "call -0x1" },
        { new Instruction(0x8d, R3, 0, 0, 0), "callx r3" },
        { Instruction.Exit(), "exit" },

        // What LLVM's decoder rejects prints as <unknown>; a field the encoding fixes must match.
        { new Instruction(0x00, 0, 0, 0, 0), Disassembler.UnknownText },
        { new Instruction(0xff, 1, 2, 3, 4), Disassembler.UnknownText },
        { new Instruction(0x8c, R1, R2, 0, 0), Disassembler.UnknownText },
        { Instruction.Mov64(12, 1), Disassembler.UnknownText },
        { Instruction.Mov64Reg(R1, 15), Disassembler.UnknownText },
        { new Instruction(0xb7, R1, 0, 2, 1), Disassembler.UnknownText },
        { new Instruction(0xbc, R1, R2, 32, 0), Disassembler.UnknownText },
        { new Instruction(0x95, 0, 0, 0, 1), Disassembler.UnknownText },
        { new Instruction(0xd4, R1, 0, 0, 8), Disassembler.UnknownText },
        { new Instruction(0x38, 0, 0, 0, 0), Disassembler.UnknownText },

        // ...and fields the encoding leaves free are ignored, as LLVM ignores them.
        { new Instruction(0xb7, R1, 10, 0, 5), "r1 = 0x5" },
        { new Instruction(0xbf, R1, R2, 0, 1234), "r1 = r2" },
        { new Instruction(0x05, 15, 15, 3, 99), "goto +0x3" },
        { new Instruction(0x95, 12, 3, 4, 0), "exit" },
        { new Instruction(0x85, 7, 2, 9, 5), "call 0x5" },
        { new Instruction(0xdc, R1, 15, -4, 16), "r1 = be16 r1" },
        { new Instruction(0x87, R1, 15, 3, 99), "r1 = -r1" },
        { Instruction.Atomic(MemSize.DW, (AtomicOp)0x142, R1, 0, R2), "lock *(u64 *)(r1 + 0x0) |= r2" },
        { new Instruction(0x20, 15, 15, 3, 12), "r0 = *(u32 *)skb[0xc]" },
    };

    [Theory]
    [MemberData(nameof(Instructions))]
    public void FormatsLikeLlvmObjdump(Instruction instruction, string expected)
    {
        Assert.Equal(expected, Disassembler.Format(instruction, next: null));
        Assert.Equal(expected, instruction.ToString());
    }

    public static TheoryData<Instruction, string> Alu32Instructions => new()
    {
        { Instruction.Load(MemSize.W, R2, R1, 4), "w2 = *(u32 *)(r1 + 0x4)" },
        { Instruction.Load(MemSize.B, R2, R1, 4), "w2 = *(u8 *)(r1 + 0x4)" },
        { Instruction.Load(MemSize.DW, R2, R1, 4), "r2 = *(u64 *)(r1 + 0x4)" },
        { new Instruction(0x91, R1, R10, -1, 0), "r1 = *(s8 *)(r10 - 0x1)" },
        { Instruction.Store(MemSize.H, R10, -2, R1), "*(u16 *)(r10 - 0x2) = w1" },
        { Instruction.Store(MemSize.DW, R10, -8, R1), "*(u64 *)(r10 - 0x8) = r1" },
        { Instruction.StoreImm(MemSize.W, R10, -4, 7), "*(u32 *)(r10 - 0x4) = 0x7" },
        { Instruction.Atomic(MemSize.W, AtomicOp.Add, R10, -8, R1), "lock *(u32 *)(r10 - 0x8) += w1" },
        { Instruction.Atomic(MemSize.W, AtomicOp.Xor, R10, -8, R1), "lock *(u32 *)(r10 - 0x8) ^= w1" },
        { Instruction.Atomic(MemSize.W, AtomicOp.Add | AtomicOp.Fetch, R10, -8, R1), "w1 = atomic_fetch_add((u32 *)(r10 - 0x8), w1)" },
        { Instruction.Atomic(MemSize.W, AtomicOp.Or | AtomicOp.Fetch, R10, -8, R1), "w1 = atomic_fetch_or((u32 *)(r10 - 0x8), w1)" },
        { Instruction.Atomic(MemSize.W, AtomicOp.Xchg, R10, -8, R1), "w1 = xchg32_32(r10 - 0x8, w1)" },
        { Instruction.Atomic(MemSize.W, AtomicOp.CmpXchg, R10, -8, R1), "w0 = cmpxchg32_32(r10 - 0x8, w0, w1)" },
        { Instruction.Atomic(MemSize.DW, AtomicOp.Xchg, R10, -8, R1), "r1 = xchg_64(r10 - 0x8, r1)" },
        { Instruction.Atomic(MemSize.H, AtomicOp.Add, R10, -8, R1), Disassembler.UnknownText },
    };

    [Theory]
    [MemberData(nameof(Alu32Instructions))]
    public void FormatsLikeLlvmObjdumpWithAlu32(Instruction instruction, string expected) =>
        Assert.Equal(expected, Disassembler.Format(instruction, next: null, alu32: true));

    [Theory]
    [InlineData(0, 0, PseudoLoad.None, "r1 = 0x0 ll")]
    [InlineData(-1, -1, PseudoLoad.None, "r1 = -0x1 ll")]
    [InlineData(unchecked((int)0x9abcdef0), 0x12345678, PseudoLoad.None, "r1 = 0x123456789abcdef0 ll")]
    [InlineData(0, int.MinValue, PseudoLoad.None, "r1 = -0x8000000000000000 ll")]
    [InlineData(-1, 0, PseudoLoad.None, "r1 = 0xffffffff ll")]
    [InlineData(7, 0, PseudoLoad.MapFd, "ld_pseudo\tr1, 0x1, 0x7")]
    // LLVM drops the upper half of a pseudo load and shows the low half unsigned.
    [InlineData(-10, 5, PseudoLoad.MapValue, "ld_pseudo\tr1, 0x2, 0xfffffff6")]
    public void FormatsLoadImm64FromBothSlots(int low, int high, PseudoLoad pseudo, string expected)
    {
        var (first, second) = Instruction.LoadImm64(R1, ((long)high << 32) | (uint)low, pseudo);
        Assert.Equal(expected, Disassembler.Format(first, second));
    }

    [Fact]
    public void LoadImm64WithoutSecondSlotTakesUpperHalfAsZero()
    {
        var (first, _) = Instruction.LoadImm64(R2, 0x1_0000_0005);
        Assert.Equal("r2 = 0x5 ll", Disassembler.Format(first, next: null));
        Assert.Equal("r2 = 0x5 ll", first.ToString());
        Assert.Equal(Disassembler.UnknownText, Disassembler.Format(new Instruction(0x18, R2, 0, 1, 5), null));
    }

    [Fact]
    public void NeverThrowsOnAnyEncoding()
    {
        short[] offsets = [0, 1, 8, -1, short.MinValue];
        int[] immediates = [0, 1, 16, 0xe1, -1, int.MinValue];
        var next = new Instruction(0xff, 15, 15, -1, -1);
        for (var opcode = 0; opcode < 256; opcode++)
        for (byte dst = 0; dst < 16; dst++)
        for (byte src = 0; src < 16; src++)
        foreach (var offset in offsets)
        foreach (var imm in immediates)
        {
            var instruction = new Instruction((byte)opcode, dst, src, offset, imm);
            Assert.False(string.IsNullOrEmpty(Disassembler.Format(instruction, next)));
            Assert.False(string.IsNullOrEmpty(Disassembler.Format(instruction, null, alu32: true)));
        }
    }

    [Fact]
    public void ListsInLlvmObjdumpLayout()
    {
        var (load, upper) = Instruction.LoadImm64(R1, 0);
        Instruction[] code = [Instruction.Mov64(R0, 2), load, upper, Instruction.Goto(-4), Instruction.Exit()];

        Assert.Equal(
            "       0:\tb7 00 00 00 02 00 00 00\tr0 = 0x2\n" +
            "       1:\t18 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00\tr1 = 0x0 ll\n" +
            "       3:\t05 00 fc ff 00 00 00 00\tgoto -0x4\n" +
            "       4:\t95 00 00 00 00 00 00 00\texit\n",
            Disassembler.Disassemble(code));

        Assert.Equal(
            "Disassembly of section xdp:\n" +
            "\n" +
            "0000000000000000 <prog>:\n" +
            "       0:\tr0 = 0x2\n" +
            "       1:\tr1 = 0x0 ll\n" +
            "\t\t0000000000000008:  R_BPF_64_64\tDrops\n" +
            "       3:\tgoto -0x4 <prog>\n" +
            "; return XdpAction.Drop;\n" +
            "       4:\texit\n",
            Disassembler.Disassemble(code, new DisassemblyOptions
            {
                ShowRawBytes = false,
                SectionName = "xdp",
                Symbols = [new(0, "prog")],
                Relocations = [new(1, "Drops")],
                SourceLine = index => index == 4 ? "return XdpAction.Drop;" : null,
            }));
    }

    [Fact]
    public void NamesBranchTargetsAfterTheNearestPrecedingSymbol()
    {
        Instruction[] code = [Instruction.Jump(JmpOp.Jeq, R1, 0, 2), Instruction.Exit(), Instruction.Goto(-3), Instruction.Goto(-5), Instruction.Exit()];

        // No symbols, no notes; a section name stands in as the symbol at 0; a jump before the start wraps around
        // to the last symbol, as llvm-objdump computes it unsigned.
        Assert.Contains("\tif r1 == 0x0 goto +0x2\n", Disassembler.Disassemble(code), StringComparison.Ordinal);
        var listing = Disassembler.Disassemble(code, new DisassemblyOptions { SectionName = "xdp", Symbols = [new(2, "tail")] });
        Assert.Contains("\n0000000000000000 <xdp>:\n", listing, StringComparison.Ordinal);
        Assert.Contains("\n0000000000000010 <tail>:\n", listing, StringComparison.Ordinal);
        Assert.Contains("\tif r1 == 0x0 goto +0x2 <tail+0x8>\n", listing, StringComparison.Ordinal);
        Assert.Contains("\tgoto -0x3 <xdp>\n", listing, StringComparison.Ordinal);
        Assert.Contains("\tgoto -0x5 <tail+0xffffffffffffffe8>\n", listing, StringComparison.Ordinal);
    }

    [Fact]
    public void SkipsZeroWordsAndTruncatedLoadsLikeLlvmObjdump()
    {
        Instruction[] code = [default, default, Instruction.Exit(), Instruction.LoadImm64(R1, 0).First];

        Assert.Equal(
            "\t\t...\n" +
            "       2:\texit\n" +
            string.Concat(Enumerable.Repeat("       3:\t<unknown>\n", 8)),
            Disassembler.Disassemble(code, new DisassemblyOptions { ShowRawBytes = false }));
    }

    [Fact]
    public void RejectsSymbolsAndRelocationsOutsideTheCode()
    {
        Instruction[] code = [Instruction.Exit()];

        Assert.Throws<ArgumentNullException>(() => Disassembler.Disassemble(null!));
        var symbol = Assert.Throws<ArgumentOutOfRangeException>(() => Disassembler.Disassemble(code, new DisassemblyOptions { Symbols = [new(1, "past_end")] }));
        Assert.Contains("past_end", symbol.Message, StringComparison.Ordinal);
        var relocation = Assert.Throws<ArgumentOutOfRangeException>(() => Disassembler.Disassemble(code, new DisassemblyOptions { Relocations = [new(-1, "Drops")] }));
        Assert.Contains("Drops", relocation.Message, StringComparison.Ordinal);
        Assert.Equal("", Disassembler.Disassemble([], new DisassemblyOptions { SectionName = "xdp" }));
    }
}

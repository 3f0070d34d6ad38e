using System.Buffers.Binary;

namespace XdpCompiler.Core.Bpf;

/// <summary>
/// One 8-byte eBPF instruction slot: <c>{u8 opcode; u4 dst; u4 src; s16 off; s32 imm}</c>. A 64-bit immediate load
/// (<c>lddw</c>) takes two slots; its second slot has opcode 0 and carries the upper 32 bits in imm.
/// </summary>
public readonly record struct Instruction(byte Opcode, byte Dst, byte Src, short Offset, int Imm)
{
    public const int Size = 8;

    public OpClass Class => (OpClass)(Opcode & 0x07);

    public bool IsAlu => Class is OpClass.Alu or OpClass.Alu64;

    public bool IsJump => Class is OpClass.Jmp or OpClass.Jmp32;

    public AluOp AluOp => (AluOp)(Opcode & 0xf0);

    public JmpOp JmpOp => (JmpOp)(Opcode & 0xf0);

    public OpSource Source => (OpSource)(Opcode & 0x08);

    public MemSize MemSize => (MemSize)(Opcode & 0x18);

    public MemMode MemMode => (MemMode)(Opcode & 0xe0);

    /// <summary>The first slot of a two-slot <c>lddw</c>.</summary>
    public bool IsLoadImm64 => Opcode == (byte)((byte)OpClass.Ld | (byte)MemSize.DW | (byte)MemMode.Imm);

    public bool IsCall => Class == OpClass.Jmp && JmpOp == JmpOp.Call;

    public bool IsExit => Class == OpClass.Jmp && JmpOp == JmpOp.Exit;

    /// <summary>A conditional or unconditional jump whose offset is a branch target (not call/exit).</summary>
    public bool IsBranch => IsJump && JmpOp is not (JmpOp.Call or JmpOp.Exit);

    public void WriteTo(Span<byte> destination)
    {
        destination[0] = Opcode;
        destination[1] = (byte)((Src << 4) | (Dst & 0x0f));
        BinaryPrimitives.WriteInt16LittleEndian(destination.Slice(2), Offset);
        BinaryPrimitives.WriteInt32LittleEndian(destination.Slice(4), Imm);
    }

    public static Instruction ReadFrom(ReadOnlySpan<byte> source) => new(
        source[0],
        (byte)(source[1] & 0x0f),
        (byte)(source[1] >> 4),
        BinaryPrimitives.ReadInt16LittleEndian(source.Slice(2)),
        BinaryPrimitives.ReadInt32LittleEndian(source.Slice(4)));

    public static byte[] Encode(IReadOnlyList<Instruction> instructions)
    {
        var bytes = new byte[instructions.Count * Size];
        for (var i = 0; i < instructions.Count; i++)
            instructions[i].WriteTo(bytes.AsSpan(i * Size));
        return bytes;
    }

    public static Instruction[] Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length % Size != 0)
            throw new FormatException($"eBPF code is {bytes.Length} bytes, not a multiple of {Size}.");
        var result = new Instruction[bytes.Length / Size];
        for (var i = 0; i < result.Length; i++)
            result[i] = ReadFrom(bytes.Slice(i * Size));
        return result;
    }

    // Constructors read like assembly: Alu64(AluOp.Add, R1, 4) is "r1 += 4".

    public static Instruction Alu64(AluOp op, byte dst, int imm) => new((byte)((byte)OpClass.Alu64 | (byte)op), dst, 0, 0, imm);

    public static Instruction Alu64Reg(AluOp op, byte dst, byte src) =>
        new((byte)((byte)OpClass.Alu64 | (byte)op | (byte)OpSource.X), dst, src, 0, 0);

    public static Instruction Alu32(AluOp op, byte dst, int imm) => new((byte)((byte)OpClass.Alu | (byte)op), dst, 0, 0, imm);

    public static Instruction Alu32Reg(AluOp op, byte dst, byte src) =>
        new((byte)((byte)OpClass.Alu | (byte)op | (byte)OpSource.X), dst, src, 0, 0);

    public static Instruction Mov64(byte dst, int imm) => Alu64(AluOp.Mov, dst, imm);

    public static Instruction Mov64Reg(byte dst, byte src) => Alu64Reg(AluOp.Mov, dst, src);

    public static Instruction Mov32(byte dst, int imm) => Alu32(AluOp.Mov, dst, imm);

    public static Instruction Mov32Reg(byte dst, byte src) => Alu32Reg(AluOp.Mov, dst, src);

    /// <summary>Byte swap from host (little-endian) to big-endian of the low <paramref name="bits"/> bits: "r = be16 r".</summary>
    public static Instruction ToBigEndian(byte dst, int bits) =>
        new((byte)((byte)OpClass.Alu | (byte)AluOp.End | (byte)OpSource.X), dst, 0, 0, bits);

    /// <summary>Truncation to the low <paramref name="bits"/> bits on a little-endian host: "r = le16 r".</summary>
    public static Instruction ToLittleEndian(byte dst, int bits) =>
        new((byte)((byte)OpClass.Alu | (byte)AluOp.End | (byte)OpSource.K), dst, 0, 0, bits);

    /// <summary>"rDst = *(size *)(rSrc + off)".</summary>
    public static Instruction Load(MemSize size, byte dst, byte src, short offset) =>
        new((byte)((byte)OpClass.Ldx | (byte)size | (byte)MemMode.Mem), dst, src, offset, 0);

    /// <summary>"rDst = *(s8/s16/s32 *)(rSrc + off)": cpu v4's sign-extending load (BPF_MEMSX).</summary>
    public static Instruction LoadSigned(MemSize size, byte dst, byte src, short offset) =>
        new((byte)((byte)OpClass.Ldx | (byte)size | (byte)MemMode.MemSx), dst, src, offset, 0);

    /// <summary>"*(size *)(rDst + off) = rSrc".</summary>
    public static Instruction Store(MemSize size, byte dst, short offset, byte src) =>
        new((byte)((byte)OpClass.Stx | (byte)size | (byte)MemMode.Mem), dst, src, offset, 0);

    /// <summary>"*(size *)(rDst + off) = imm".</summary>
    public static Instruction StoreImm(MemSize size, byte dst, short offset, int imm) =>
        new((byte)((byte)OpClass.St | (byte)size | (byte)MemMode.Mem), dst, 0, offset, imm);

    /// <summary>"lock *(size *)(rDst + off) op= rSrc" (W or DW only).</summary>
    public static Instruction Atomic(MemSize size, AtomicOp op, byte dst, short offset, byte src) =>
        new((byte)((byte)OpClass.Stx | (byte)size | (byte)MemMode.Atomic), dst, src, offset, (int)op);

    public static Instruction Jump(JmpOp op, byte dst, int imm, short offset) =>
        new((byte)((byte)OpClass.Jmp | (byte)op), dst, 0, offset, imm);

    public static Instruction JumpReg(JmpOp op, byte dst, byte src, short offset) =>
        new((byte)((byte)OpClass.Jmp | (byte)op | (byte)OpSource.X), dst, src, offset, 0);

    public static Instruction Jump32(JmpOp op, byte dst, int imm, short offset) =>
        new((byte)((byte)OpClass.Jmp32 | (byte)op), dst, 0, offset, imm);

    public static Instruction Jump32Reg(JmpOp op, byte dst, byte src, short offset) =>
        new((byte)((byte)OpClass.Jmp32 | (byte)op | (byte)OpSource.X), dst, src, offset, 0);

    public static Instruction Goto(short offset) => new((byte)((byte)OpClass.Jmp | (byte)JmpOp.Ja), 0, 0, offset, 0);

    public static Instruction CallHelper(int helperId) => new((byte)((byte)OpClass.Jmp | (byte)JmpOp.Call), 0, 0, 0, helperId);

    /// <summary>BPF-to-BPF call: src = 1, imm = relative instruction offset of the callee minus one.</summary>
    public static Instruction CallLocal(int relative) => new((byte)((byte)OpClass.Jmp | (byte)JmpOp.Call), 0, 1, 0, relative);

    public static Instruction Exit() => new((byte)((byte)OpClass.Jmp | (byte)JmpOp.Exit), 0, 0, 0, 0);

    /// <summary>The two slots of "rDst = imm64 ll" (or of a pseudo load the loader patches).</summary>
    public static (Instruction First, Instruction Second) LoadImm64(byte dst, long imm, PseudoLoad pseudo = PseudoLoad.None) => (
        new((byte)((byte)OpClass.Ld | (byte)MemSize.DW | (byte)MemMode.Imm), dst, (byte)pseudo, 0, unchecked((int)imm)),
        new(0, 0, 0, 0, unchecked((int)(imm >> 32))));

    public override string ToString() => Disassembler.Format(this, next: null);
}

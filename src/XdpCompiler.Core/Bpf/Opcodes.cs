namespace XdpCompiler.Core.Bpf;

// The eBPF instruction encoding (Documentation/bpf/standardization/instruction-set.rst). An opcode byte is
// class (low 3 bits) | source or size (bit 3 / bits 3-4) | operation or mode (high bits).

/// <summary>Instruction class: the low three bits of the opcode.</summary>
public enum OpClass : byte
{
    Ld = 0x00,
    Ldx = 0x01,
    St = 0x02,
    Stx = 0x03,
    Alu = 0x04,
    Jmp = 0x05,
    Jmp32 = 0x06,
    Alu64 = 0x07,
}

/// <summary>Arithmetic operation: the high four bits of an ALU/ALU64 opcode.</summary>
public enum AluOp : byte
{
    Add = 0x00,
    Sub = 0x10,
    Mul = 0x20,
    Div = 0x30,
    Or = 0x40,
    And = 0x50,
    Lsh = 0x60,
    Rsh = 0x70,
    Neg = 0x80,
    Mod = 0x90,
    Xor = 0xa0,
    Mov = 0xb0,
    Arsh = 0xc0,
    /// <summary>Byte swap; the source bit chooses to-little (0) or to-big (1) endian, imm the width.</summary>
    End = 0xd0,
}

/// <summary>Jump operation: the high four bits of a JMP/JMP32 opcode.</summary>
public enum JmpOp : byte
{
    Ja = 0x00,
    Jeq = 0x10,
    Jgt = 0x20,
    Jge = 0x30,
    Jset = 0x40,
    Jne = 0x50,
    Jsgt = 0x60,
    Jsge = 0x70,
    Call = 0x80,
    Exit = 0x90,
    Jlt = 0xa0,
    Jle = 0xb0,
    Jslt = 0xc0,
    Jsle = 0xd0,
}

/// <summary>Operand source bit: immediate (K) or register (X).</summary>
public enum OpSource : byte
{
    K = 0x00,
    X = 0x08,
}

/// <summary>Memory access width: bits 3-4 of a load/store opcode.</summary>
public enum MemSize : byte
{
    W = 0x00,
    H = 0x08,
    B = 0x10,
    DW = 0x18,
}

/// <summary>Memory access mode: the high three bits of a load/store opcode.</summary>
public enum MemMode : byte
{
    Imm = 0x00,
    Abs = 0x20,
    Ind = 0x40,
    Mem = 0x60,
    MemSx = 0x80,
    Atomic = 0xc0,
}

/// <summary>The imm field of a BPF_ATOMIC store: the operation, with <see cref="Fetch"/> to return the old value.</summary>
public enum AtomicOp : int
{
    Add = 0x00,
    Or = 0x40,
    And = 0x50,
    Xor = 0xa0,
    Fetch = 0x01,
    Xchg = 0xe0 | Fetch,
    CmpXchg = 0xf0 | Fetch,
}

/// <summary>Source-register values of <c>ld_imm64</c> that ask the loader to patch in an object's address.</summary>
public enum PseudoLoad : byte
{
    None = 0,
    MapFd = 1,
    MapValue = 2,
    BtfId = 3,
    Func = 4,
    MapIdx = 5,
    MapIdxValue = 6,
}

/// <summary>Registers: R0 return value, R1-R5 arguments (clobbered by calls), R6-R9 callee-saved, R10 frame pointer.</summary>
public static class Reg
{
    public const byte R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6, R7 = 7, R8 = 8, R9 = 9, R10 = 10;
    public const byte FramePointer = R10;
    public const int Count = 11;
}

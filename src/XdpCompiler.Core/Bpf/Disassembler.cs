namespace XdpCompiler.Core.Bpf;

public static class Disassembler
{
    public static string Format(Instruction instruction, Instruction? next) => $"op 0x{instruction.Opcode:x2}";
}

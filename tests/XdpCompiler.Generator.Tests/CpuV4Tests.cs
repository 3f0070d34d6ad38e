using XdpCompiler.Core.Bpf;
using XdpCompiler.Runtime.Elf;
using Xunit;

namespace XdpCompiler.Generator.Tests;

/// <summary>XdpCpu=v4 uses the v4 instructions where they save code; the differential tests check it stays right.</summary>
public sealed class CpuV4Tests
{
    [Fact]
    public void SignedDivisionAndSignExtensionUseV4Instructions()
    {
        var v3 = Compile("SignedDivision", cpu: null);
        var v4 = Compile("SignedDivision", cpu: "v4");

        Assert.DoesNotContain(v3, i => i.IsAlu && i.AluOp is AluOp.Div or AluOp.Mod && i.Offset == 1);
        Assert.Contains(v4, i => i.IsAlu && i.AluOp is AluOp.Div or AluOp.Mod && i.Offset == 1);
        Assert.Contains(Compile("IntTypes", cpu: "v4"), i => i.IsAlu && i.AluOp == AluOp.Mov && i.Offset is 8 or 16 or 32);
        Assert.True(v4.Count < v3.Count, $"v4 {v4.Count} instructions, v3 {v3.Count}");
    }

    [Fact]
    public void ASignExtendedByteLoadIsOneSignExtendingLoadOnV4()
    {
        static bool SignedLoad(Instruction i) => (i.Opcode & 0xE0) == 0x80 && (i.Opcode & 0x07) == 0x01;
        Assert.Contains(Compile("MapByPacketByte", cpu: "v4"), SignedLoad);
        Assert.DoesNotContain(Compile("MapByPacketByte", cpu: null), SignedLoad);
    }

    [Fact]
    public void UnknownCpuValuesMeanTheDefault()
    {
        Assert.Equal(Compile("SignedDivision", cpu: null), Compile("SignedDivision", cpu: "v9"));
    }

    private static IReadOnlyList<Instruction> Compile(string name, string? cpu)
    {
        var run = GeneratorHarness.RunWith(cpu, ($"/src/{name}.cs", GeneratorHarness.ProgramSource(name)));
        Assert.Empty(run.Diagnostics);
        return ElfObjectReader.Read(run.Objects[name], name).Programs.Single().Instructions;
    }
}

using System.Collections.Immutable;
using System.Text.Json;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Elf;
using XdpCompiler.Core.Objects;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Cli.Tests;

internal sealed record CliResult(int ExitCode, string Output, string Errors)
{
    public JsonDocument Json() => JsonDocument.Parse(Output);

    /// <summary>Failures are one line naming the cause, never a stack trace.</summary>
    public void AssertOneLineError()
    {
        Assert.Equal("", Output);
        Assert.Single(Errors.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("xdpc: ", Errors);
        Assert.DoesNotContain("   at ", Errors);
    }
}

internal static class CliHarness
{
    public static CliResult Run(params string[] args)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        var exitCode = Cli.Run(args, output, errors);
        return new CliResult(exitCode, output.ToString(), errors.ToString());
    }

    public static string Write(TempDirectory directory, BpfObject obj, string name = "prog.o")
    {
        var path = directory.File(name);
        File.WriteAllBytes(path, ElfObjectWriter.Write(obj));
        return path;
    }

    /// <summary>Reads the first packet byte without comparing against data_end: the verifier must refuse it.</summary>
    public static BpfObject Unchecked() => SampleObjects.WithPrograms(new BpfProgram(
        "xdp_unchecked", "xdp",
        ImmutableArray.Create(
            Instruction.Load(MemSize.W, Reg.R2, Reg.R1, 0),   // r2 = ctx->data
            Instruction.Load(MemSize.B, Reg.R0, Reg.R2, 0),   // r0 = *(u8 *)data — no bounds check
            Instruction.Mov64(Reg.R0, 2),
            Instruction.Exit()),
        ImmutableArray<BpfRelocation>.Empty,
        ImmutableArray.Create(
            new BpfLineInfo(0, "Unchecked.cs", 7, 9, "var data = ctx.Data;"),
            new BpfLineInfo(1, "Unchecked.cs", 8, 13, "byte first = *data;"),
            new BpfLineInfo(2, "Unchecked.cs", 9, 9, "return XdpAction.Pass;"))));

    /// <summary>An Ethernet + IPv4 + UDP packet between test addresses.</summary>
    public static string PacketHex { get; } =
        "02000000000102000000000208004500001c0001000040117fffc6120001c6120002" + "303900350008" + "0000";
}

using Xunit;

namespace XdpCompiler.Generator.Tests;

public sealed class UnrollTests
{
    [Fact]
    public void UnrolledLoopsLeaveNoBackwardJumps()
    {
        var source = GeneratorHarness.ProgramSource("Unrolled");
        Assert.DoesNotContain(Compile(source), i => i.IsBranch && i.Offset < 0);
        // The same loops without [Unroll] stay loops.
        Assert.Contains(Compile(source.Replace("[Unroll]", "")), i => i.IsBranch && i.Offset < 0);
    }

    [Fact]
    public void LoopsWhoseCounterTheBodyChangesAreNotUnrolled()
    {
        var source = """
            using XdpCompiler;
            public static unsafe partial class Changes
            {
                [XdpProgram("xdp_changes")]
                [Unroll]
                public static XdpAction Run(XdpContext ctx)
                {
                    uint n = 0;
                    for (int i = 0; i < 8; i++)
                    {
                        if (ctx.RxQueueIndex == 3)
                            i++;
                        n++;
                    }

                    return n > 5 ? XdpAction.Drop : XdpAction.Pass;
                }
            }
            """;
        Assert.Contains(Compile(source), i => i.IsBranch && i.Offset < 0);
    }

    private static IReadOnlyList<Core.Bpf.Instruction> Compile(string source)
    {
        var run = GeneratorHarness.Run(("/src/Program.cs", source));
        Assert.Empty(run.Diagnostics);
        var obj = Runtime.Elf.ElfObjectReader.Read(run.Objects.Values.Single(), "test");
        return obj.Programs.Single().Instructions;
    }
}

using Microsoft.CodeAnalysis;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Runtime;
using XdpCompiler.Runtime.Elf;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Generator.Tests;

/// <summary>
/// Each file in Programs/ goes through the real generator. Its code is pinned by a golden listing (regenerate with
/// XDP_ACCEPT_SNAPSHOTS=1 and review the diff), and the real kernel must accept every program in it.
/// </summary>
public sealed class CompiledProgramTests
{
    [Theory]
    [MemberData(nameof(TestPrograms.All), MemberType = typeof(TestPrograms))]
    public void CompilesWithoutDiagnostics(string name)
    {
        var run = GeneratorHarness.Run(($"/src/{name}.cs", GeneratorHarness.ProgramSource(name)));
        var diagnostics = run.AllDiagnostics.Select(d => d.ToString()).ToList();
        Assert.True(diagnostics.Count == 0, string.Join("\n", diagnostics));
        Assert.True(run.Objects.ContainsKey(name), $"no object emitted for {name}");
    }

    [Theory]
    [MemberData(nameof(TestPrograms.Listed), MemberType = typeof(TestPrograms))]
    public void Listing(string name)
    {
        var obj = Compile(name);
        var listing = string.Join("\n", obj.Programs.Select(p => Disassembler.Disassemble(p.Instructions, DisassemblyOptions.ForProgram(p))));
        Snapshot.Verify(listing, name: name);
    }

    [Theory]
    [MemberData(nameof(TestPrograms.All), MemberType = typeof(TestPrograms))]
    public void ForwardJumpsToAnExitGoToTheFirstExit(string name)
    {
        // The kernel's JIT puts the epilogue at a function's first exit and makes every later exit a jump to it.
        foreach (var function in Compile(name).Programs)
        {
            var code = function.Instructions.ToList();
            var firstExit = Enumerable.Range(0, code.Count).FirstOrDefault(i => code[i].IsExit, -1);
            for (var i = 0; i < code.Count; i++)
            {
                if (code[i].IsLoadImm64)
                    i++;
                else if (code[i].IsBranch && code[i + 1 + code[i].Offset].IsExit && i < firstExit)
                    Assert.True(i + 1 + code[i].Offset == firstExit, $"{function.Name}: the jump at {i} goes to the exit at {i + 1 + code[i].Offset}, not the first one at {firstExit}");
            }
        }
    }

    [KernelTheory]
    [MemberData(nameof(TestPrograms.All), MemberType = typeof(TestPrograms))]
    public void KernelAcceptsEveryProgram(string name)
    {
        var obj = Compile(name);
        using var loaded = BpfObjectLoader.Load(obj);
        // .text functions (BPF-to-BPF call targets) are loaded as part of the programs that call them.
        var entries = obj.Programs.Where(p => p.IsXdp).ToList();
        Assert.Equal(entries.Count, loaded.Programs.Count);
        foreach (var program in entries)
        {
            // A run on a minimal frame proves the program executes, not just that it verified.
            var result = loaded.Program(program.Name).TestRun(new byte[64]);
            Assert.InRange(result.ReturnValue, 0u, 4u);
        }
    }

    internal static Core.Objects.BpfObject Compile(string name)
    {
        var run = GeneratorHarness.Run(($"/src/{name}.cs", GeneratorHarness.ProgramSource(name)));
        Assert.Empty(run.AllDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()));
        return ElfObjectReader.Read(run.Objects[name], name);
    }
}

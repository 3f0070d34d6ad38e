using System.Reflection;
using Microsoft.CodeAnalysis;
using XdpCompiler.Runtime;
using XdpCompiler.Runtime.Elf;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Generator.Tests;

/// <summary>
/// Programs that stress integer semantics, control flow, register pressure, packet writes and map counters. Each one
/// must compile cleanly, load, and behave exactly like its .NET execution on random packets (no golden listings: these
/// exist to find wrong code, not to pin it).
/// </summary>
public sealed class MoreProgramsTests
{
    private static readonly int PacketCount = int.TryParse(Environment.GetEnvironmentVariable("XDP_DIFF_PACKETS"), out var n) ? n : 10_000;

    public static TheoryData<string> Programs => new()
    {
        "IntTypes", "SignExtension", "WrapOverflow", "VariableShifts", "SignedCompares", "WideConstants", "Ternaries",
        "LogicChains", "NestedIfs", "SpillAcrossCall", "ManySpills", "PacketRewrite", "MapByPacketByte", "IncDec",
        "ByteSwaps", "PointerIndexing", "ElevenLive",
    };

    [KernelTheory]
    [MemberData(nameof(Programs))]
    public void CompilesAndKernelAccepts(string name)
    {
        var run = GeneratorHarness.Run(($"/src/{name}.cs", GeneratorHarness.ProgramSource(name)));
        var diagnostics = run.AllDiagnostics.Select(d => d.ToString()).ToList();
        Assert.True(diagnostics.Count == 0, string.Join("\n", diagnostics));
        Assert.True(run.Objects.ContainsKey(name), $"no object emitted for {name}");
        var obj = ElfObjectReader.Read(run.Objects[name], name);
        using var loaded = BpfObjectLoader.Load(obj);
        Assert.Equal(obj.Programs.Length, loaded.Programs.Count);
    }

    [KernelTheory]
    [MemberData(nameof(Programs))]
    public unsafe void KernelAndDotNetAgree(string name)
    {
        var run = GeneratorHarness.Run(($"/src/{name}.cs", GeneratorHarness.ProgramSource(name)));
        var errors = run.AllDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var assembly = LoadAssembly(run.Output);
        var type = assembly.GetType(name) ?? throw new InvalidOperationException($"type {name} not in the compiled assembly");
        var obj = ElfObjectReader.Read(run.Objects[name], name);
        using var loaded = BpfObjectLoader.Load(obj);

        var random = new Random(name.GetHashCode(StringComparison.Ordinal) & 0x7fffffff);
        foreach (var program in obj.Programs)
        {
            var method = type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
                .Single(m => m.GetCustomAttribute<XdpProgramAttribute>() is { } a && (a.Name ?? m.Name) == program.Name);
            for (var i = 0; i < PacketCount; i++)
            {
                var packet = RandomPacket(random);
                var kernel = loaded.Program(program.Name).TestRun(packet);
                using var context = XdpContext.FromPacket(packet);
                var managed = (XdpAction)method.Invoke(null, new object[] { context })!;
                var managedPacket = context.GetPacket();
                if (kernel.Action != managed || !kernel.Packet.AsSpan().SequenceEqual(managedPacket))
                {
                    Assert.Fail($"{program.Name} packet #{i} ({Convert.ToHexString(packet)}): kernel {kernel.Action}, .NET {managed}" +
                        (kernel.Packet.AsSpan().SequenceEqual(managedPacket)
                            ? ""
                            : $"; output packets differ: kernel {Convert.ToHexString(kernel.Packet)}, .NET {Convert.ToHexString(managedPacket)}"));
                }
            }
        }

        foreach (var map in obj.Maps)
        {
            var field = type.GetField(map.Name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!;
            var managedMap = field.GetValue(null)!;
            var lookup = managedMap.GetType().GetMethod("Lookup")!;
            var kernelMap = loaded.Map(map.Name);
            for (uint index = 0; index < map.MaxEntries; index++)
            {
                var pointer = Pointer.Unbox(lookup.Invoke(managedMap, new object[] { index })!);
                ulong kernelValue = 0;
                var managedValue = map.ValueSize == 8 ? *(ulong*)pointer : *(uint*)pointer;
                var raw = kernelMap.Lookup(BitConverter.GetBytes(index))!;
                for (var cpu = 0; cpu < raw.Length / kernelMap.PerCpuValueStride; cpu++)
                {
                    var slice = raw.AsSpan(cpu * kernelMap.PerCpuValueStride);
                    kernelValue += map.ValueSize == 8 ? BitConverter.ToUInt64(slice) : BitConverter.ToUInt32(slice);
                }

                if (map.ValueSize == 4)
                    kernelValue &= 0xFFFF_FFFF;
                Assert.True(managedValue == kernelValue, $"{map.Name}[{index}]: kernel {kernelValue}, .NET {managedValue}");
            }
        }
    }

    private static Assembly LoadAssembly(Compilation compilation)
    {
        using var stream = new MemoryStream();
        var emitted = compilation.Emit(stream);
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics));
        return Assembly.Load(stream.ToArray());
    }

    /// <summary>The same packet shapes as <see cref="DifferentialTests"/>: 14-200 bytes, mostly IPv4, some noise.</summary>
    private static byte[] RandomPacket(Random random)
    {
        var packet = new byte[random.Next(14, 201)];
        random.NextBytes(packet);
        var shape = random.Next(10);
        if (shape < 8)
        {
            packet[12] = 0x08;
            packet[13] = (byte)(shape == 7 ? 0xDD : 0x00);
        }

        if (shape < 6 && packet.Length >= 34)
        {
            packet[14] = (byte)(random.Next(4) == 0 ? 0x46 : 0x45);
            packet[23] = (byte)(random.Next(4) switch { 0 => 1, 1 => 6, 2 => 17, _ => random.Next(256) });
            if (packet.Length >= 38 && random.Next(3) == 0)
            {
                var port = random.Next(3) switch { 0 => 53, 1 => random.Next(990, 2010), _ => random.Next(65536) };
                packet[36] = (byte)(port >> 8);
                packet[37] = (byte)port;
            }
        }

        return packet;
    }
}

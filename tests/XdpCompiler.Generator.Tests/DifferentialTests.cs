using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.CodeAnalysis;
using XdpCompiler.Runtime;
using XdpCompiler.Runtime.Elf;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Generator.Tests;

/// <summary>
/// The compiled program must do what the C# does: every test program runs as ordinary .NET code and in the kernel
/// (BPF_PROG_TEST_RUN) on the same packets, and the actions, output packets and map contents must be identical.
/// The packet count is <c>XDP_DIFF_PACKETS</c> (default 10,000 per program) for longer runs.
/// </summary>
public sealed class DifferentialTests
{
    private static readonly int PacketCount = int.TryParse(Environment.GetEnvironmentVariable("XDP_DIFF_PACKETS"), out var n) ? n : 10_000;

    [KernelTheory]
    [MemberData(nameof(TestPrograms.All), MemberType = typeof(TestPrograms))]
    public void KernelAndDotNetAgree(string name) => Check(name, cpu: null);

    /// <summary>The same programs compiled for cpu v4 (signed division, sign-extending moves).</summary>
    [KernelTheory]
    [MemberData(nameof(TestPrograms.All), MemberType = typeof(TestPrograms))]
    public void KernelAndDotNetAgreeOnCpuV4(string name) => Check(name, cpu: "v4");

    private static unsafe void Check(string name, string? cpu)
    {
        var run = GeneratorHarness.RunWith(cpu, ($"/src/{name}.cs", GeneratorHarness.ProgramSource(name)));
        var errors = run.AllDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var assembly = LoadAssembly(run.Output);
        var type = assembly.GetType(name) ?? throw new InvalidOperationException($"type {name} not in the compiled assembly");
        var obj = ElfObjectReader.Read(run.Objects[name], name);
        using var loaded = BpfObjectLoader.Load(obj);

        using var pin = CpuPin.CurrentThread();
        var random = new Random(RandomFrames.Seed(name));
        foreach (var program in obj.Programs.Where(p => p.IsXdp))
        {
            var method = type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
                .Single(m => m.GetCustomAttribute<XdpProgramAttribute>() is { } a && (a.Name ?? m.Name) == program.Name);
            for (var i = 0; i < PacketCount; i++)
            {
                var packet = RandomFrames.Next(random);
                var kernel = loaded.Program(program.Name).TestRun(packet);
                using var context = XdpContext.FromPacket(packet);
                var managed = (XdpAction)method.Invoke(null, new object[] { context })!;
                // BPF_PROG_TEST_RUN hands back everything from data_meta to data_end.
                var managedPacket = context.GetMetadata().Concat(context.GetPacket()).ToArray();
                if (kernel.Action != managed || !kernel.Packet.AsSpan().SequenceEqual(managedPacket))
                {
                    Assert.Fail($"{program.Name} packet #{i} ({Convert.ToHexString(packet)}): kernel {kernel.Action}, .NET {managed}" +
                        (kernel.Packet.AsSpan().SequenceEqual(managedPacket)
                            ? ""
                            : $"; output packets differ: kernel {Convert.ToHexString(kernel.Packet)}, .NET {Convert.ToHexString(managedPacket)}"));
                }
            }
        }

        CompareGlobals(obj, loaded, type);
        foreach (var map in obj.Maps)
        {
            var managed = type.GetField(map.Name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;
            switch (map.Type)
            {
                // Device, CPU, socket and program maps belong to user space (programs cannot write them): nothing to compare.
                case Core.Objects.BpfMapType.DevMap or Core.Objects.BpfMapType.DevMapHash or Core.Objects.BpfMapType.CpuMap
                    or Core.Objects.BpfMapType.XskMap or Core.Objects.BpfMapType.ProgArray:
                    break;
                case Core.Objects.BpfMapType.RingBuf:
                    CompareRecords(map, loaded.Map(map.Name), (RingBuffer)managed);
                    break;
                default:
                    CompareMap(map, loaded.Map(map.Name), managed);
                    break;
            }
        }
    }

    /// <summary>The records in the kernel's ring buffer against the .NET ring buffer's, in order, byte for byte.</summary>
    private static void CompareRecords(Core.Objects.BpfMap map, LoadedMap kernelMap, RingBuffer managed)
    {
        var kernel = KernelRingBuffer.Consume(kernelMap);
        var dotnet = managed.Consume();
        Assert.True(kernel.Count == dotnet.Count, $"ring buffer {map.Name}: kernel has {kernel.Count} records, .NET {dotnet.Count}");
        for (var i = 0; i < kernel.Count; i++)
        {
            Assert.True(kernel[i].AsSpan().SequenceEqual(dotnet[i]),
                $"ring buffer {map.Name} record #{i}: kernel {Convert.ToHexString(kernel[i])}, .NET {Convert.ToHexString(dotnet[i])}");
        }
    }

    /// <summary>
    /// A map's entries in the kernel against the .NET map's, as key bytes → value bytes. A per-CPU value is taken
    /// from the one CPU the pinned test ran on (the others stay zero, so their bytes are OR-ed in harmlessly).
    /// </summary>
    private static unsafe void CompareMap(Core.Objects.BpfMap map, LoadedMap kernelMap, object managedMap)
    {
        var kernel = new Dictionary<string, string>();
        foreach (var key in kernelMap.Keys())
        {
            var raw = kernelMap.Lookup(key)!;
            var value = new byte[map.ValueSize];
            for (var cpu = 0; cpu < raw.Length / (kernelMap.IsPerCpu ? kernelMap.PerCpuValueStride : raw.Length); cpu++)
            {
                for (var b = 0; b < value.Length; b++)
                    value[b] |= raw[cpu * (kernelMap.IsPerCpu ? kernelMap.PerCpuValueStride : 0) + b];
            }

            kernel[Convert.ToHexString(key)] = Convert.ToHexString(value);
        }

        var managed = new Dictionary<string, string>();
        if (managedMap.GetType().GetProperty("Entries") is { } entries)
        {
            foreach (var entry in (System.Collections.IEnumerable)entries.GetValue(managedMap)!)
            {
                var pair = entry.GetType();
                managed[Convert.ToHexString(BytesOf(pair.GetProperty("Key")!.GetValue(entry)!, (int)map.KeySize))] =
                    Convert.ToHexString(BytesOf(pair.GetProperty("Value")!.GetValue(entry)!, (int)map.ValueSize));
            }
        }
        else
        {
            var lookup = managedMap.GetType().GetMethod("Lookup")!;
            for (uint index = 0; index < map.MaxEntries; index++)
            {
                var pointer = (byte*)Pointer.Unbox(lookup.Invoke(managedMap, new object[] { index })!);
                managed[Convert.ToHexString(BitConverter.GetBytes(index))] = Convert.ToHexString(new ReadOnlySpan<byte>(pointer, (int)map.ValueSize));
            }
        }

        var differences = kernel.Keys.Union(managed.Keys)
            .Where(k => !kernel.TryGetValue(k, out var kv) || !managed.TryGetValue(k, out var mv) || kv != mv)
            .Select(k => $"key {k}: kernel {(kernel.TryGetValue(k, out var kv) ? kv : "absent")}, .NET {(managed.TryGetValue(k, out var mv) ? mv : "absent")}")
            .Take(5)
            .ToList();
        Assert.True(differences.Count == 0, $"map {map.Name}:\n" + string.Join("\n", differences));
    }

    private static byte[] BytesOf(object boxed, int size)
    {
        var bytes = new byte[size];
        var handle = GCHandle.Alloc(boxed, GCHandleType.Pinned);
        try
        {
            Marshal.Copy(handle.AddrOfPinnedObject(), bytes, 0, size);
        }
        finally
        {
            handle.Free();
        }

        return bytes;
    }

    /// <summary>Every global variable: the kernel's data-section bytes against the .NET static field's.</summary>
    private static void CompareGlobals(Core.Objects.BpfObject obj, LoadedBpfObject loaded, Type type)
    {
        foreach (var section in obj.DataSections)
        {
            var kernel = loaded.DataSection(section.Name).Read();
            foreach (var variable in section.Variables)
            {
                var field = type.GetField(variable.Name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!;
                var managed = BytesOf(field.GetValue(null)!, variable.Size);

                Assert.True(kernel.AsSpan(variable.Offset, variable.Size).SequenceEqual(managed),
                    $"{section.Name} {variable.Name}: kernel {Convert.ToHexString(kernel, variable.Offset, variable.Size)}, .NET {Convert.ToHexString(managed)}");
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
}

using System.Buffers.Binary;
using System.Diagnostics;
using System.Reflection;
using System.Text;
using Microsoft.CodeAnalysis;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Objects;
using XdpCompiler.Generator.Tests.IntegerSemantics;
using XdpCompiler.Runtime;
using XdpCompiler.Runtime.Elf;
using XdpCompiler.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace XdpCompiler.Generator.Tests;

/// <summary>
/// C#'s integer semantics, operator by operator and type by type: for every integer type and every group of
/// operations (<see cref="Category"/>), one generated program computes each operation on operands read from the packet
/// and stores the result bits back into it; the kernel (BPF_PROG_TEST_RUN) and .NET run it on packets built from edge
/// values and must produce the same bytes and verdict. A mismatch is reported per operation, with a one-operation
/// reproduction and its eBPF listing.
/// </summary>
public sealed class IntegerSemanticsTests(ITestOutputHelper output)
{
    /// <summary>Failing operations that get a reproduction of their own (each one costs a compile and a load).</summary>
    private const int MaxReproductions = 4;

    /// <summary>When set, every case appends its coverage line and any failure report to this file.</summary>
    private static readonly string? ReportPath = Environment.GetEnvironmentVariable("XDP_INTSEM_REPORT");

    public static TheoryData<string, string> Cases
    {
        get
        {
            var cases = new TheoryData<string, string>();
            foreach (var type in IntType.All)
            {
                foreach (var category in Enum.GetValues<Category>())
                    cases.Add(type.Name, category.ToString());
            }

            return cases;
        }
    }

    [KernelTheory]
    [MemberData(nameof(Cases))]
    public void KernelAndDotNetComputeTheSameBits(string typeName, string categoryName)
    {
        var stopwatch = Stopwatch.StartNew();
        var type = IntType.Named(typeName);
        var category = Enum.Parse<Category>(categoryName);
        var (items, invalid) = SemanticsProgram.Resolve(type, ProbeCatalog.For(type, category));
        var unexpected = invalid.Where(i => !i.Probe.MayBeInvalid).ToList();
        Assert.True(unexpected.Count == 0, "probes that should be valid C# are not:\n" +
            string.Join("\n", unexpected.Select(i => $"  {i.Probe.Code}: {i.Error}")));

        var problems = new List<string>();
        var compiled = Compile(type, category, items, problems);
        var packets = Packets(type, compiled.Program.PacketSize);
        var failures = Run(compiled, packets);
        stopwatch.Stop();

        var coverage = $"{type.Name,-6} {category,-10} {compiled.Program.Slots.Count,4} operations " +
            $"({compiled.Program.Slots.Select(s => s.Item.Probe.Operator).Distinct().Count()} operator forms, " +
            $"{invalid.Count} not valid C#), {packets.Count} packets, {stopwatch.ElapsedMilliseconds} ms";
        output.WriteLine(coverage);

        foreach (var failure in failures.Values.OrderBy(f => f.Slot?.Offset ?? -1))
            problems.Add(failure.Describe(type));
        if (problems.Count > 0)
            problems.AddRange(Reproductions(type, category, failures.Values));

        var report = problems.Count == 0 ? coverage : coverage + "\n" + string.Join("\n", problems);
        if (ReportPath is not null)
            File.AppendAllText(ReportPath, report + "\n\n");
        Assert.True(problems.Count == 0, report);
    }

    /// <summary>The limits the probes stay inside: C# would throw (or trap) where eBPF would not, so these are build errors.</summary>
    [KernelFact]
    public void SignedDivisionByMinusOneAndVariableAndPossiblyZeroDivisorsAreRejected()
    {
        foreach (var (code, expected) in new[] { ("a / -1", "Signed division by -1"), ("a % (int)(-1L)", "Signed division by -1"), ("a / b", "Signed division of a value that may be negative"), ("(a & 0xFF) / (b | 1)", "Division by a value that may be zero or negative"), ("(int)((uint)a / (uint)b)", "Division by a value that may be zero"),
            ("(int)((uint)a % ((uint)b & 0xFE))", "Division by a value that may be zero"), ("a / 0", "Division by zero") })
        {
            var source = $$"""
                using XdpCompiler;

                public static unsafe partial class IntSemReject
                {
                    [XdpProgram("is_reject")]
                    public static XdpAction Run(XdpContext ctx)
                    {
                        byte* data = ctx.Data;
                        if (data + 16 > ctx.DataEnd)
                            return XdpAction.Pass;
                        int a = *(int*)data;
                        int b = *(int*)(data + 4);
                        *(int*)(data + 8) = {{code}};
                        return XdpAction.Tx;
                    }
                }
                """;
            var errors = GeneratorHarness.Run(("/src/IntSemReject.cs", source)).AllDiagnostics
                .Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            Assert.True(errors.Count == 1 && errors[0].Id == "XDP0001" && errors[0].GetMessage().Contains(expected, StringComparison.Ordinal),
                $"{code}: expected one XDP0001 '{expected}', got:\n{string.Join("\n", errors)}");
        }
    }

    /// <summary>
    /// A static readonly field is read as an immediate when its initializer is a C# constant; parentheses, a cast in
    /// parentheses or unchecked(...) keep it constant in C#, so they must not turn the read into XDP0001.
    /// </summary>
    [Theory]
    [InlineData("7")]
    [InlineData("(7)")]
    [InlineData("((int)7L)")]
    [InlineData("(-7)")]
    [InlineData("unchecked(7)")]
    public void ParenthesizedConstantInitializerIsAConstant(string initializer)
    {
        var source = $$"""
            using XdpCompiler;

            public static unsafe partial class IntSemField
            {
                static readonly int F = {{initializer}};

                [XdpProgram("is_field")]
                public static XdpAction Run(XdpContext ctx)
                {
                    byte* data = ctx.Data;
                    if (data + 8 > ctx.DataEnd)
                        return XdpAction.Pass;
                    *(int*)data = *(int*)data + F;
                    return XdpAction.Tx;
                }
            }
            """;
        var errors = GeneratorHarness.Run(("/src/IntSemField.cs", source)).AllDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    private sealed record CompiledProgram(SemanticsProgram Program, BpfObject Object, MethodInfo Method);

    /// <summary>
    /// Runs the generator; probes it rejects are dropped (and reported as problems) so the rest still runs.
    /// </summary>
    private static CompiledProgram Compile(IntType type, Category category, List<TypedProbe> items, List<string> problems, string suffix = "")
    {
        while (true)
        {
            var program = SemanticsProgram.Build(type, category, items, suffix);
            var run = GeneratorHarness.Run((program.Path, program.Source));
            var errors = run.AllDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            if (errors.Count == 0)
            {
                using var stream = new MemoryStream();
                var emitted = run.Output.Emit(stream);
                Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics));
                var assembly = Assembly.Load(stream.ToArray());
                var method = assembly.GetType(program.ClassName)!.GetMethod("Run")!;
                return new CompiledProgram(program, ElfObjectReader.Read(run.Objects[program.ClassName], program.ClassName), method);
            }

            var rejected = new HashSet<Slot>();
            foreach (var error in errors)
            {
                var line = error.Location.GetLineSpan();
                var slot = program.Slots.FirstOrDefault(s => line.Path == program.Path && s.Line == line.StartLinePosition.Line);
                if (slot is null)
                    Assert.Fail($"the generator rejects {program.ClassName} outside any probe: {error}\n{program.Source}");
                if (rejected.Add(slot))
                    problems.Add($"REJECTED `{slot.Code}` ({type.Name}): {error.Id} {error.GetMessage()}");
            }

            items = items.Where(i => !rejected.Any(s => s.Item == i)).ToList();
        }
    }

    /// <summary>One mismatch class: an operation (or the verdict, or bytes outside every slot) and its first example.</summary>
    private sealed class Failure(Slot? slot, string what)
    {
        public Slot? Slot { get; } = slot;

        public int Count { get; set; }

        public byte[] Packet { get; set; } = [];

        public string Kernel { get; set; } = "";

        public string DotNet { get; set; } = "";

        public string Describe(IntType type) =>
            $"MISMATCH {what} on {Count} packet(s); first with {Operands(type, Packet)}: kernel {Kernel}, .NET {DotNet}";
    }

    private static string Operands(IntType type, byte[] packet) =>
        $"a = {type.Describe(BinaryPrimitives.ReadUInt64LittleEndian(packet.AsSpan(SemanticsProgram.AOffset)))}, " +
        $"b = {type.Describe(BinaryPrimitives.ReadUInt64LittleEndian(packet.AsSpan(SemanticsProgram.BOffset)))}, " +
        $"c = {BinaryPrimitives.ReadInt32LittleEndian(packet.AsSpan(SemanticsProgram.COffset))}, " +
        $"b as 8 bytes = 0x{Convert.ToHexString(packet.AsSpan(SemanticsProgram.BOffset, 8))}";

    private static Dictionary<string, Failure> Run(CompiledProgram compiled, IReadOnlyList<byte[]> packets)
    {
        var program = compiled.Program;
        var failures = new Dictionary<string, Failure>();
        void Record(string key, Slot? slot, byte[] packet, string kernel, string dotNet)
        {
            if (!failures.TryGetValue(key, out var failure))
            {
                failure = new Failure(slot, key) { Packet = packet, Kernel = kernel, DotNet = dotNet };
                failures[key] = failure;
            }

            failure.Count++;
        }

        using var loaded = Load(compiled.Object, program);
        var kernelProgram = loaded.Program(program.ProgramName);
        using var pin = CpuPin.CurrentThread();
        var written = 0;
        foreach (var packet in packets)
        {
            var kernel = kernelProgram.TestRun(packet);
            if (!kernel.Packet.AsSpan().SequenceEqual(packet))
                written++;
            using var context = XdpContext.FromPacket(packet);
            var managed = (XdpAction)compiled.Method.Invoke(null, [context])!;
            var managedPacket = context.GetMetadata().Concat(context.GetPacket()).ToArray();
            if (kernel.Action != managed)
                Record("the verdict", null, packet, kernel.Action.ToString(), managed.ToString());
            if (kernel.Packet.AsSpan().SequenceEqual(managedPacket))
                continue;
            if (kernel.Packet.Length != managedPacket.Length)
            {
                Record("the packet length", null, packet, kernel.Packet.Length.ToString(), managedPacket.Length.ToString());
                continue;
            }

            var covered = new bool[packet.Length];
            foreach (var slot in program.Slots)
            {
                var k = kernel.Packet.AsSpan(slot.Offset, slot.Size);
                var m = managedPacket.AsSpan(slot.Offset, slot.Size);
                Array.Fill(covered, true, slot.Offset, slot.Size);
                if (!k.SequenceEqual(m))
                    Record($"`{slot.Code}` [{slot.Item.StoreType}]", slot, packet, Value(slot.Item.StoreType, k), Value(slot.Item.StoreType, m));
            }

            for (var i = 0; i < packet.Length; i++)
            {
                if (!covered[i] && kernel.Packet[i] != managedPacket[i])
                {
                    Record($"the byte at {i} (outside every result slot)", null, packet, $"0x{kernel.Packet[i]:X2}", $"0x{managedPacket[i]:X2}");
                    break;
                }
            }
        }

        // A program that bails out before its stores (a broken bounds check) would agree with .NET vacuously.
        if (written == 0 && program.Slots.Count > 0)
            Record("the packet: the kernel wrote no result on any packet", null, packets[0], "no writes", "writes");
        return failures;
    }

    private static LoadedBpfObject Load(BpfObject obj, SemanticsProgram program)
    {
        try
        {
            return BpfObjectLoader.Load(obj);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"the kernel rejects {program.ClassName}: {e.Message}\n{Listing(obj)}", e);
        }
    }

    private static string Value(string storeType, ReadOnlySpan<byte> bytes)
    {
        var bits = 0UL;
        for (var i = bytes.Length - 1; i >= 0; i--)
            bits = bits << 8 | bytes[i];
        return storeType == "bool" ? $"{bits != 0} (0x{bits:X2})" : IntType.Named(storeType).Describe(bits);
    }

    private static string Listing(BpfObject obj) =>
        string.Join("\n", obj.Programs.Select(p => Disassembler.Disassemble(p.Instructions, DisassemblyOptions.ForProgram(p))));

    /// <summary>
    /// For the first few failing operations: a program with only that operation, run on the failing operands, with its
    /// eBPF listing — the smallest reproduction there is.
    /// </summary>
    private IEnumerable<string> Reproductions(IntType type, Category category, IEnumerable<Failure> failures)
    {
        var index = 0;
        foreach (var failure in failures.Where(f => f.Slot is not null).Take(MaxReproductions))
        {
            var text = new StringBuilder();
            var problems = new List<string>();
            try
            {
                var compiled = Compile(type, category, [failure.Slot!.Item], problems, "_Repro" + index++);
                var packet = new byte[compiled.Program.PacketSize];
                failure.Packet.AsSpan(0, SemanticsProgram.ResultsOffset).CopyTo(packet);
                FillResults(packet);
                var repro = Run(compiled, [packet]);
                text.Append($"REPRODUCTION of `{failure.Slot.Code}` with {Operands(type, packet)}: ");
                text.Append(repro.Count == 0 ? "agrees when alone" : string.Join("; ", repro.Values.Select(r => $"kernel {r.Kernel}, .NET {r.DotNet}")));
                text.Append('\n').Append(compiled.Program.Source).Append(Listing(compiled.Object));
            }
            catch (Exception e)
            {
                text.Append($"  (no reproduction for `{failure.Slot!.Code}`: {e.Message})");
            }

            output.WriteLine(text.ToString());
            yield return text.ToString();
        }
    }

    /// <summary>
    /// Packets for one type: every edge value against the core values, core values against every shift count, and
    /// random operands. Result slots start with a fixed pattern, so a store of the wrong width shows.
    /// </summary>
    private static List<byte[]> Packets(IntType type, int size)
    {
        var random = new Random(type.Name.Length * 7919 + type.Size * 31 + (type.Signed ? 1 : 0) + type.Name[0]);
        var edges = type.EdgeValues(random);
        var core = type.CoreValues(random);
        var counts = ProbeCatalog.VariableCounts;
        var operands = new List<(ulong A, ulong B, int C)>();
        var n = 0;
        foreach (var a in edges)
        {
            foreach (var b in core)
                operands.Add((a, b, counts[n++ % counts.Length]));
        }

        foreach (var a in core)
        {
            foreach (var c in counts)
                operands.Add((a, core[n++ % core.Count], c));
        }

        for (var i = 0; i < 200; i++)
            operands.Add((type.RandomBits(random), type.RandomBits(random), random.Next(-100, 200)));

        var packets = new List<byte[]>(operands.Count);
        foreach (var (a, b, c) in operands)
        {
            var packet = new byte[size];
            // Bytes past an operand are noise, so a load of the wrong width shows too.
            random.NextBytes(packet.AsSpan(0, SemanticsProgram.ResultsOffset));
            FillResults(packet);
            Write(packet, SemanticsProgram.AOffset, a, type.Size);
            Write(packet, SemanticsProgram.BOffset, b, type.Size);
            BinaryPrimitives.WriteInt32LittleEndian(packet.AsSpan(SemanticsProgram.COffset), c);
            packets.Add(packet);
        }

        return packets;
    }

    private static void FillResults(byte[] packet)
    {
        for (var i = SemanticsProgram.ResultsOffset; i < packet.Length; i++)
            packet[i] = (byte)(0xC5 ^ i);
    }

    private static void Write(byte[] packet, int offset, ulong bits, int size)
    {
        for (var i = 0; i < size; i++)
            packet[offset + i] = (byte)(bits >> (8 * i));
    }
}

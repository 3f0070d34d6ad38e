using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.CodeAnalysis;
using XdpCompiler.Core.Elf;
using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime;
using XdpCompiler.Runtime.Elf;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Generator.Tests;

/// <summary>
/// The map types beyond arrays and hashes (LRU, LPM, device/CPU/socket maps, program arrays, ring buffers), tail
/// calls, ring buffer records, GPL-only helpers, bpf_fib_lookup and the XDP section kinds: in the object, in the
/// kernel and in .NET.
/// </summary>
public sealed unsafe class MapTypesTests
{
    // ---- .NET semantics ----

    [StructLayout(LayoutKind.Sequential)]
    private struct Prefix
    {
        public uint Length;
        public uint Address;

        public Prefix(uint length, byte a, byte b, byte c, byte d)
        {
            Length = length;
            Address = (uint)(a | b << 8 | c << 16 | d << 24);
        }
    }

    [Fact]
    public void LpmTrieFindsTheLongestMatchingPrefix()
    {
        var trie = new LpmTrie<Prefix, uint>(maxEntries: 3);
        Assert.Equal(0, trie.Update(new Prefix(8, 10, 0, 0, 0), 8));
        Assert.Equal(0, trie.Update(new Prefix(24, 10, 1, 2, 0), 24));
        Assert.Equal(0, trie.Update(new Prefix(0, 0, 0, 0, 0), 0));
        Assert.Equal(-28, trie.Update(new Prefix(16, 10, 1, 0, 0), 16)); // full: -ENOSPC
        Assert.Equal(-22, trie.Update(new Prefix(33, 10, 1, 0, 0), 33));

        Assert.Equal(24u, *trie.Lookup(new Prefix(32, 10, 1, 2, 77)));
        Assert.Equal(8u, *trie.Lookup(new Prefix(32, 10, 1, 3, 77)));
        Assert.Equal(8u, *trie.Lookup(new Prefix(23, 10, 1, 2, 77))); // the key's own length caps the match
        Assert.Equal(0u, *trie.Lookup(new Prefix(32, 11, 0, 0, 1)));

        // Update and delete name an entry by its prefix; bits past the prefix do not matter.
        Assert.Equal(-17, trie.Update(new Prefix(24, 10, 1, 2, 99), 1, MapUpdate.NoExist));
        Assert.Equal(0, trie.Update(new Prefix(24, 10, 1, 2, 99), 25, MapUpdate.Exist));
        Assert.Equal(25u, *trie.Lookup(new Prefix(32, 10, 1, 2, 1)));
        Assert.Equal(-2, trie.Delete(new Prefix(16, 10, 1, 0, 0)));
        Assert.Equal(0, trie.Delete(new Prefix(0, 1, 2, 3, 4)));
        Assert.True(trie.Lookup(new Prefix(32, 11, 0, 0, 1)) == null);
        Assert.Equal(-2, trie.Update(new Prefix(16, 10, 1, 0, 0), 1, MapUpdate.Exist));
    }

    [Fact]
    public void LruHashEvictsTheLeastRecentlyUsedEntryWhenFull()
    {
        var map = new LruHashMap<uint, uint>(maxEntries: 2);
        map.Update(1, 10);
        map.Update(2, 20);
        Assert.True(map.Lookup(1) != null); // 2 is now the least recently used
        Assert.Equal(0, map.Update(3, 30));
        Assert.True(map.Lookup(2) == null);
        Assert.Equal(new uint[] { 1, 3 }, map.Entries.Select(e => e.Key).Order());
        Assert.Equal(-2, map.Delete(2));

        var plain = new HashMap<uint, uint>(maxEntries: 1);
        plain.Update(1, 1);
        Assert.Equal(-7, plain.Update(2, 2)); // a plain hash map refuses instead
    }

    [Fact]
    public void RingBufferRefusesWhatDoesNotFitUntilConsumed()
    {
        var ring = new RingBuffer(maxEntries: 4096);
        // 8 bytes of data + 8 of header: 255 records fit in 4095 bytes, the 256th does not.
        for (var i = 0; i < 255; i++)
            Assert.Equal(0, ring.Output((ulong)i));
        Assert.Equal(-11, ring.Output(1ul));
        Assert.True(ring.Reserve<ulong>() == null);
        Assert.Equal(-22, ring.Output(1ul, flags: 4));
        Assert.Equal(255, ring.Consume().Count);

        var reserved = ring.Reserve<ulong>();
        *reserved = 7;
        Assert.Equal(0, ring.Output(8ul));
        Assert.Empty(ring.Consume()); // the reserved record holds up the one after it
        ring.Submit(reserved);
        Assert.Equal(new[] { 7ul, 8ul }, ring.Consume().Select(r => BitConverter.ToUInt64(r)));
        var dropped = ring.Reserve<ulong>();
        ring.Discard(dropped);
        Assert.Empty(ring.Records);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RingBuffer(maxEntries: 6000));
    }

    [Fact]
    public void TailCallRunsTheSlotsProgramAndStopsAfter33()
    {
        var runs = 0;
        var array = new ProgramArray(maxEntries: 2);
        array[0] = ctx => ++runs > 0 ? array.TailCall(ctx, 0, XdpAction.Tx) : XdpAction.Aborted;
        using var context = XdpContext.FromPacket(new byte[64]);
        Assert.Equal(XdpAction.Tx, array.TailCall(context, 0, XdpAction.Drop));
        Assert.Equal(ProgramArray.MaxTailCalls, runs);
        Assert.Equal(XdpAction.Drop, array.TailCall(context, 1, XdpAction.Drop));
        Assert.Equal(XdpAction.Pass, array.TailCall(context, 9, XdpAction.Pass));
    }

    [Fact]
    public void RedirectMapsFallBackByTheirFlags()
    {
        var devices = new DevMapHash(maxEntries: 4);
        devices.Set(1000, 3);
        Assert.Equal(XdpAction.Redirect, devices.Redirect(1000));
        Assert.Equal(XdpAction.Pass, devices.Redirect(5, (ulong)XdpAction.Pass));
        Assert.Equal(XdpAction.Redirect, devices.Redirect(5, 8)); // broadcast
        var cpus = new CpuMap(maxEntries: 2);
        cpus.Set(1, 192);
        Assert.Equal(XdpAction.Redirect, cpus.Redirect(1));
        Assert.Equal(XdpAction.Aborted, cpus.Redirect(0, 8)); // no broadcast for cpumaps
        var sockets = new XskMap(maxEntries: 2);
        Assert.Equal(XdpAction.Drop, sockets.Redirect(0, (ulong)XdpAction.Drop));
    }

    // ---- in the object and the kernel ----

    [KernelToolFact("bpftool")]
    public void BpftoolLoadsAnObjectWithEveryMapType()
    {
        using var directory = new TempDirectory();
        using var pins = new BpfFsDirectory();
        var path = directory.File("MapZoo.o");
        File.WriteAllBytes(path, Compiled("MapZoo").Elf);
        Tools.Run("bpftool", "prog", "loadall", path, pins.Combine("progs"), "pinmaps", pins.Combine("maps"));

        var expected = new Dictionary<string, string>
        {
            ["Lru"] = "lru_hash", ["LruPerCpu"] = "lru_percpu_hash", ["Prefixes"] = "lpm_trie", ["Devices"] = "devmap_hash",
            ["Cpus"] = "cpumap", ["Sockets"] = "xskmap", ["Jumps"] = "prog_array", ["Log"] = "ringbuf", ["Sparse"] = "hash",
        };
        foreach (var (name, type) in expected)
        {
            using var show = JsonDocument.Parse(Tools.Run("bpftool", "-j", "map", "show", "pinned", pins.Combine("maps/" + name)).Output);
            Assert.Equal(type, show.RootElement.GetProperty("type").GetString());
        }

        using var lpm = JsonDocument.Parse(Tools.Run("bpftool", "-j", "map", "show", "pinned", pins.Combine("maps/Prefixes")).Output);
        Assert.Equal(1, lpm.RootElement.GetProperty("flags").GetInt32()); // BPF_F_NO_PREALLOC
        using var log = JsonDocument.Parse(Tools.Run("bpftool", "-j", "map", "show", "pinned", pins.Combine("maps/Log")).Output);
        Assert.Equal(8192, log.RootElement.GetProperty("max_entries").GetInt32());
        // libbpf filled slot 1 of the program array from the .values initializer.
        using var jumps = JsonDocument.Parse(Tools.Run("bpftool", "-j", "map", "dump", "pinned", pins.Combine("maps/Jumps")).Output);
        var entry = Assert.Single(jumps.RootElement.EnumerateArray());
        Assert.Equal("0x01", entry.GetProperty("key")[0].GetString());
        var btf = Tools.Run("bpftool", "btf", "dump", "file", path).Output;
        Assert.Contains("'values' type_id=", btf, StringComparison.Ordinal);
        Assert.Contains("STRUCT 'ZooPrefix'", btf, StringComparison.Ordinal);
    }

    [KernelFact]
    public void OurLoaderCreatesEveryMapTypeAndFillsTheProgramArray()
    {
        var obj = ElfObjectReader.Read(Compiled("MapZoo").Elf, "MapZoo");
        Assert.Equal(new string?[] { null, "xdp_map_zoo_last" }, obj.Maps.Single(m => m.Name == "Jumps").InitialPrograms);
        using var loaded = BpfObjectLoader.Load(obj);
        var slot = loaded.Map("Jumps").Lookup(BitConverter.GetBytes(1u));
        Assert.NotNull(slot);
        Assert.Equal(loaded.Program("xdp_map_zoo_last").Id, BitConverter.ToUInt32(slot));
        Assert.Null(loaded.Map("Jumps").Lookup(BitConverter.GetBytes(0u)));
        Assert.Equal(1u, loaded.Map("Prefixes").Definition.Flags);
        Assert.Equal(BpfMapType.RingBuf, loaded.Map("Log").Type);
    }

    /// <summary>bpftool shows the LPM and LRU entries a program wrote with the BTF field names of their C# types.</summary>
    [KernelToolFact("bpftool")]
    public void BpftoolDumpsTheEntriesWithTheirCSharpFieldNames()
    {
        using var loaded = BpfObjectLoader.Load(Compiled("MapZoo").Elf, "MapZoo");
        var packet = new byte[64];
        (packet[14], packet[15], packet[17], packet[18]) = (5, 0xC6, 255, 8);
        loaded.Program("xdp_map_zoo").TestRun(packet);

        using var prefixes = JsonDocument.Parse(Tools.Run("bpftool", "-j", "map", "dump", "id", loaded.Map("Prefixes").Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).Output);
        var key = Assert.Single(prefixes.RootElement.EnumerateArray()).GetProperty("formatted").GetProperty("key");
        Assert.Equal(8, key.GetProperty("PrefixLength").GetInt32());
        Assert.Equal(0xC6, key.GetProperty("Network").GetInt32());
        using var lru = JsonDocument.Parse(Tools.Run("bpftool", "-j", "map", "dump", "id", loaded.Map("Lru").Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).Output);
        var entry = Assert.Single(lru.RootElement.EnumerateArray()).GetProperty("formatted");
        Assert.Equal((5, 1), (entry.GetProperty("key").GetInt32(), entry.GetProperty("value").GetInt32()));
    }

    /// <summary>libbpf (bpftool) reads the section kinds as our loader does and the kernel accepts each program.</summary>
    [KernelToolFact("bpftool")]
    public void BpftoolLoadsEverySectionKind()
    {
        using var directory = new TempDirectory();
        using var pins = new BpfFsDirectory();
        var path = directory.File("SectionKinds.o");
        File.WriteAllBytes(path, Compiled("SectionKinds").Elf);
        Tools.Run("bpftool", "prog", "loadall", path, pins.Combine("progs"));
        Assert.Equal(["xdp_cpumap_target", "xdp_devmap_egress", "xdp_frags", "xdp_plain"],
            Directory.GetFiles(pins.Combine("progs")).Select(f => Path.GetFileName(f)).Order().ToArray());
    }

    [KernelFact]
    public void TheSkeletonLoadsEveryMapTypeAndTypesTheLruMaps()
    {
        var run = GeneratorHarness.RunWithRuntime(("/src/MapZoo.cs", GeneratorHarness.ProgramSource("MapZoo")));
        Assert.DoesNotContain(run.Output.GetDiagnostics(), d => d.Severity == DiagnosticSeverity.Error);
        using var stream = new MemoryStream();
        Assert.True(run.Output.Emit(stream).Success);
        var type = Assembly.Load(stream.ToArray()).GetType("MapZoo")!;
        using var loaded = (IDisposable)type.GetMethod("Load")!.Invoke(null, new object?[] { null })!;
        Assert.IsType<HashMapView<uint, ulong>>(loaded.GetType().GetProperty("Lru")!.GetValue(loaded));
        Assert.IsType<PerCpuHashMapView<uint, ulong>>(loaded.GetType().GetProperty("LruPerCpu")!.GetValue(loaded));
        object Map(string name) => loaded.GetType().GetProperty(name)!.GetValue(loaded)!;
        Assert.Equal(BpfMapType.DevMapHash, Assert.IsType<DevMapView>(Map("Devices")).Map.Type);
        Assert.Equal(BpfMapType.CpuMap, Assert.IsType<CpuMapView>(Map("Cpus")).Map.Type);
        Assert.Equal(BpfMapType.XskMap, Assert.IsType<XskMapView>(Map("Sockets")).Map.Type);
        Assert.Equal(BpfMapType.ProgArray, Assert.IsType<ProgramArrayView>(Map("Jumps")).Map.Type);
        using (var ring = Assert.IsType<LoadedMap>(Map("Log")).OpenRingBuffer())
            Assert.Equal(0, ring.PendingBytes);

        // The LPM trie takes the program's own key struct: exact updates, longest-prefix lookups.
        var prefixType = type.Assembly.GetType("ZooPrefix")!;
        var view = Map("Prefixes");
        Assert.Equal(BpfMapType.LpmTrie, ((LoadedMap)view.GetType().GetProperty("Map")!.GetValue(view)!).Type);
        object Prefix(uint length, byte network)
        {
            var key = Activator.CreateInstance(prefixType)!;
            prefixType.GetField("PrefixLength")!.SetValue(key, length);
            prefixType.GetField("Network")!.SetValue(key, network);
            return key;
        }
        view.GetType().GetMethod("Update")!.Invoke(view, [Prefix(4, 0xA0), 7u, MapUpdateFlags.Any]);
        object?[] lookup = [Prefix(8, 0xAB), null];
        Assert.True((bool)view.GetType().GetMethod("TryGetValue")!.Invoke(view, lookup)!);
        Assert.Equal(7u, lookup[1]);
        lookup[0] = Prefix(8, 0xB0);
        Assert.False((bool)view.GetType().GetMethod("TryGetValue")!.Invoke(view, lookup)!);
    }

    [KernelFact]
    public void ATailCallRunsTheProgramInTheSlot()
    {
        var compiled = Compiled("TailCalls");
        using var loaded = BpfObjectLoader.Load(compiled.Elf, "TailCalls");
        var entry = Method(compiled.Assembly, "TailCalls", "Entry");
        foreach (var (slot, action, marker) in new[] { (0, XdpAction.Tx, 0x44), (1, XdpAction.Drop, 0xEE), (2, XdpAction.Drop, 0x22), (3, XdpAction.Pass, 0xEE) })
        {
            var packet = new byte[64];
            packet[13] = 200;
            packet[14] = (byte)slot;
            var kernel = loaded.Program("xdp_tail_entry").TestRun(packet);
            Assert.Equal(action, kernel.Action);
            Assert.Equal(marker, kernel.Packet[15]);
            using var context = XdpContext.FromPacket(packet);
            Assert.Equal(action, (XdpAction)entry.Invoke(null, new object[] { context })!);
            Assert.Equal(marker, context.GetPacket()[15]);
        }

        // Slot 3 calls itself: the entry's tail call and 32 more make the kernel's limit of 33, so it ran 33 times.
        var loops = loaded.Map("Visits").Lookup(BitConverter.GetBytes(1u))!;
        Assert.Equal(33u, BitConverter.ToUInt32(loops));
    }

    [KernelFact]
    public void RingBufferFillsUpAtTheSameRecordInTheKernelAndInDotNet()
    {
        var compiled = Compiled("RingEvents");
        using var loaded = BpfObjectLoader.Load(compiled.Elf, "RingEvents");
        var run = Method(compiled.Assembly, "RingEvents", "Run");
        var packet = new byte[64];
        packet[0] = 0xAB;
        var kernelPasses = 0;
        var dotnetPasses = 0;
        for (var i = 0; i < 300; i++)
        {
            packet[1] = (byte)i;
            if (loaded.Program("xdp_ring_events").TestRun(packet).Action == XdpAction.Pass)
                kernelPasses++;
            using var context = XdpContext.FromPacket(packet);
            if ((XdpAction)run.Invoke(null, new object[] { context })! == XdpAction.Pass)
                dotnetPasses++;
        }

        // 8-byte records take 16 bytes with the header: 255 fit below 4095.
        Assert.Equal(255, kernelPasses);
        Assert.Equal(255, dotnetPasses);
        var kernel = KernelRingBuffer.Consume(loaded.Map("Events"));
        var dotnet = ((RingBuffer)compiled.Assembly.GetType("RingEvents")!.GetField("Events", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!).Consume();
        Assert.Equal(255, kernel.Count);
        Assert.Equal(kernel.Select(Convert.ToHexString), dotnet.Select(Convert.ToHexString));
        Assert.Equal(64u, BitConverter.ToUInt32(kernel[0]));
    }

    [KernelFact]
    public void APinnedMapIsReusedByTheNextLoad()
    {
        const string source = """
            using XdpCompiler;
            public static unsafe partial class Pinned
            {
                [Map(Pinning = MapPinning.ByName)] static readonly ArrayMap<ulong> SharedCounts = new(maxEntries: 1);

                [XdpProgram("xdp_pinned")]
                public static XdpAction Run(XdpContext ctx)
                {
                    ulong* count = SharedCounts.Lookup(0);
                    if (count != null)
                        (*count)++;
                    return XdpAction.Pass;
                }
            }
            """;
        var run = GeneratorHarness.Run(("/src/Pinned.cs", source));
        Assert.DoesNotContain(run.AllDiagnostics, d => d.Severity == DiagnosticSeverity.Error);
        var obj = ElfObjectReader.Read(run.Objects["Pinned"], "Pinned");
        Assert.Equal(BpfMapPinning.ByName, obj.Maps.Single().Pinning);
        using var pins = new BpfFsDirectory();
        var options = new BpfObjectLoadOptions { PinRoot = pins.Path };
        using (var first = BpfObjectLoader.Load(obj, options))
            first.Program("xdp_pinned").TestRun(new byte[64], repeat: 2);
        Assert.True(File.Exists(pins.Combine("SharedCounts")));
        using var second = BpfObjectLoader.Load(obj, options);
        second.Program("xdp_pinned").TestRun(new byte[64]);
        Assert.Equal(3ul, BitConverter.ToUInt64(second.Map("SharedCounts").Lookup(BitConverter.GetBytes(0u))!));
    }

    // ---- GPL-only helpers ----

    private const string LicensedTracer = """
        using XdpCompiler;
        [XdpLicense("{0}")]
        public static unsafe partial class Licensed
        {
            [XdpProgram("xdp_licensed")]
            public static XdpAction Run(XdpContext ctx)
            {
                {|XDP0015:Bpf.TracePrintk("licensed\n")|};
                var fib = new BpfFibLookup { Family = BpfFibLookup.AddressFamilyInet };
                return {|XDP0015:ctx.FibLookup(&fib, FibLookupFlags.None)|} == FibLookupResult.Success ? XdpAction.Tx : XdpAction.Pass;
            }
        }
        """;

    [Theory]
    [InlineData("MIT")]
    [InlineData("Proprietary")]
    [InlineData("GPL-2.0")] // an SPDX id is not in the kernel's list: the match is exact
    public void AGplOnlyHelperNeedsAGplCompatibleLicense(string license)
    {
        var (source, expected) = DiagnosticTests.Parse(LicensedTracer.Replace("{0}", license, StringComparison.Ordinal));
        var run = GeneratorHarness.Run(("/src/Licensed.cs", source));
        Assert.Equal(expected, run.Diagnostics.Select(d => (d.Id, d.Location.SourceSpan.Start, d.Location.SourceSpan.Length)).ToList());
        Assert.Contains(license, run.Diagnostics[0].GetMessage(), StringComparison.Ordinal);
        Assert.Empty(run.Objects);
    }

    [Theory]
    [InlineData("GPL")]
    [InlineData("Dual MIT/GPL")]
    [InlineData("Dual BSD/GPL")]
    public void GplCompatibleLicensesMayCallThem(string license)
    {
        var (source, _) = DiagnosticTests.Parse(LicensedTracer.Replace("{0}", license, StringComparison.Ordinal));
        var run = GeneratorHarness.Run(("/src/Licensed.cs", source));
        Assert.Empty(run.Diagnostics);
        Assert.Single(run.Objects);
    }

    /// <summary>The rule is the kernel's: the same code with its license string changed to "MIT" does not load.</summary>
    [KernelFact]
    public void TheKernelRefusesAGplOnlyHelperWithoutAGplLicense()
    {
        var (source, _) = DiagnosticTests.Parse(LicensedTracer.Replace("{0}", "GPL", StringComparison.Ordinal));
        var obj = ElfObjectReader.Read(GeneratorHarness.Run(("/src/Licensed.cs", source)).Objects["Licensed"], "Licensed");
        using (BpfObjectLoader.Load(obj))
        {
        }

        var error = Assert.Throws<BpfVerifierException>(() => BpfObjectLoader.Load(obj with { License = "MIT" }));
        Assert.Contains("GPL", error.Message, StringComparison.Ordinal);
    }

    // ---- bpf_fib_lookup ----

    [KernelFact]
    public void FibLookupAnswersFromTheNamespacesRoutesAndNeighbours()
    {
        var compiled = Compiled("FibRouter");
        using var loaded = BpfObjectLoader.Load(compiled.Elf, "FibRouter");
        using var ns = Netns.Create();
        const string gatewayMac = "02:00:5e:10:20:30";
        ns.Exec("sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        ns.Exec("ip", "route", "add", "198.19.77.0/24", "via", ns.HostAddress, "dev", ns.PeerInterface);
        ns.Exec("ip", "neigh", "replace", ns.HostAddress, "lladdr", gatewayMac, "dev", ns.PeerInterface, "nud", "permanent");
        using var link = JsonDocument.Parse(ns.Exec("ip", "-j", "link", "show", ns.PeerInterface));
        var ifindex = link.RootElement[0].GetProperty("ifindex").GetUInt32();
        var peerMac = link.RootElement[0].GetProperty("address").GetString()!;

        var packet = Packets.Ethernet().IPv4("198.18.250.1", "198.19.77.5").Udp(1000, 2000).Payload(16).Build();
        // BPF_PROG_TEST_RUN runs the program in the namespace of the calling thread (its loopback is the ingress).
        var kernel = InNamespace(ns.Name, () => loaded.Program("xdp_fib_router").TestRun(packet));
        Assert.Equal(0, BitConverter.ToInt32(kernel.Packet, 34)); // BPF_FIB_LKUP_RET_SUCCESS
        Assert.Equal(ifindex, BitConverter.ToUInt32(kernel.Packet, 38));
        Assert.Equal(Mac(gatewayMac), kernel.Packet[..6]);
        Assert.Equal(Mac(peerMac), kernel.Packet[6..12]);
        Assert.Equal(XdpAction.Tx, kernel.Action);

        // The .NET run answers through the simulator; given the namespace's route, it rewrites the packet identically.
        XdpContext.FibLookupSimulator = (ref BpfFibLookup p, FibLookupFlags flags) =>
        {
            if ((p.Destination[0] & 0xFFFFFF) != (198u | 19u << 8 | 77u << 16))
                return FibLookupResult.NotForwarded;
            p.Ifindex = ifindex;
            Mac(gatewayMac).CopyTo(new Span<byte>(Unsafe.AsPointer(ref p.DestinationMac[0]), 6));
            Mac(peerMac).CopyTo(new Span<byte>(Unsafe.AsPointer(ref p.SourceMac[0]), 6));
            return FibLookupResult.Success;
        };
        try
        {
            using var context = XdpContext.FromPacket(packet);
            Assert.Equal(XdpAction.Tx, (XdpAction)Method(compiled.Assembly, "FibRouter", "Run").Invoke(null, new object[] { context })!);
            Assert.Equal(kernel.Packet, context.GetPacket());
        }
        finally
        {
            XdpContext.FibLookupSimulator = null;
        }

        var unrouted = Packets.Ethernet().IPv4("198.18.250.1", "198.19.99.5").Udp(1000, 2000).Payload(16).Build();
        var miss = InNamespace(ns.Name, () => loaded.Program("xdp_fib_router").TestRun(unrouted));
        Assert.Equal(XdpAction.Pass, miss.Action);
        Assert.NotEqual(0, BitConverter.ToInt32(miss.Packet, 34));
    }

    // ---- section kinds ----

    [KernelFact]
    public void DevmapAndCpumapEntriesTakeOnlyProgramsOfTheirSection()
    {
        using var loaded = BpfObjectLoader.Load(Compiled("SectionKinds").Elf, "SectionKinds");
        byte[] Entry(uint first, LoadedProgram program) => [.. BitConverter.GetBytes(first), .. BitConverter.GetBytes(program.Fd.Value)];
        var key = BitConverter.GetBytes(0u);

        // struct bpf_devmap_val { ifindex, prog fd }: the kernel takes only BPF_XDP_DEVMAP programs.
        loaded.Map("Ports").Update(key, Entry(1, loaded.Program("xdp_devmap_egress")));
        Assert.False(loaded.Map("Ports").TryUpdate(key, Entry(1, loaded.Program("xdp_plain")), MapUpdateFlags.Any, out var devmapErrno));
        Assert.Equal(22, devmapErrno);

        // struct bpf_cpumap_val { qsize, prog fd }: only BPF_XDP_CPUMAP programs.
        loaded.Map("Cpus").Update(key, Entry(64, loaded.Program("xdp_cpumap_target")));
        Assert.False(loaded.Map("Cpus").TryUpdate(key, Entry(64, loaded.Program("xdp_devmap_egress")), MapUpdateFlags.Any, out var cpumapErrno));
        Assert.Equal(12, cpumapErrno); // the cpumap reports every failure to set up an entry as ENOMEM
        loaded.Map("Cpus").Delete(key);
    }

    [KernelFact]
    public void OnlyAFragsProgramAttachesNativelyToAJumboFrameInterface()
    {
        using var loaded = BpfObjectLoader.Load(Compiled("SectionKinds").Elf, "SectionKinds");
        using var ns = Netns.Create();
        Netns.Run("ip", "link", "set", "dev", ns.HostInterface, "mtu", "9000");
        ns.Exec("ip", "link", "set", "dev", ns.PeerInterface, "mtu", "9000");
        // veth refuses a program without BPF_F_XDP_HAS_FRAGS when its peer's MTU exceeds a page.
        var refused = Assert.ThrowsAny<BpfException>(() => loaded.Program("xdp_plain").Attach(ns.HostInterface, XdpMode.Native));
        Assert.Equal(34, refused.Errno); // ERANGE
        using var link = loaded.Program("xdp_frags").Attach(ns.HostInterface, XdpMode.Native);
    }

    // ---- helpers ----

    internal sealed record CompiledObject(byte[] Elf, Assembly Assembly);

    /// <summary>A program of Programs/: its object and its .NET assembly (fresh statics for each call).</summary>
    internal static CompiledObject Compiled(string name)
    {
        var run = GeneratorHarness.Run(($"/src/{name}.cs", GeneratorHarness.ProgramSource(name)));
        Assert.Empty(run.AllDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()));
        using var stream = new MemoryStream();
        Assert.True(run.Output.Emit(stream).Success);
        return new CompiledObject(run.Objects[name], Assembly.Load(stream.ToArray()));
    }

    private static MethodInfo Method(Assembly assembly, string type, string method) =>
        assembly.GetType(type)!.GetMethod(method, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!;

    private static byte[] Mac(string text) => text.Split(':').Select(b => Convert.ToByte(b, 16)).ToArray();

    private const int CloneNewNet = 0x40000000;

    [DllImport("libc", SetLastError = true)]
    private static extern int setns(int fd, int nstype);

    /// <summary>Runs <paramref name="action"/> on a fresh thread that has joined the network namespace, which then exits.</summary>
    private static T InNamespace<T>(string name, Func<T> action)
    {
        T result = default!;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/var/run/netns/{name}");
                if (setns((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                    throw new InvalidOperationException($"setns into {name} failed: errno {Marshal.GetLastPInvokeError()}");
                result = action();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        if (error is not null)
            throw new InvalidOperationException($"running in namespace {name} failed: {error.Message}", error);
        return result;
    }
}

using Xunit;
using System.Runtime.InteropServices;
using XdpCompiler.Core.Objects;
using XdpCompiler.TestKit;

namespace XdpCompiler.Runtime.Tests;

public sealed class MapTests
{
    [StructLayout(LayoutKind.Sequential)]
    private record struct FlowKey(uint Source, uint Destination, ushort SourcePort, ushort DestinationPort, uint Protocol);

    [StructLayout(LayoutKind.Sequential)]
    private record struct Stats(ulong Packets, ulong Bytes);

    [KernelFact]
    public void Array_UpdateLookupIterate()
    {
        using var raw = LoadedMap.Create(new BpfMap("Config", BpfMapType.Array, 4, 16, 4));
        var map = raw.AsArray<Stats>();

        Assert.Equal(default, map[3]);
        map[2] = new Stats(7, 700);
        map.Update(0, new Stats(1, 100), MapUpdateFlags.Exist);

        Assert.Equal(new Stats(7, 700), map.Lookup(2));
        Assert.Equal([new Stats(1, 100), default, new Stats(7, 700), default], map.ToArray());
        Assert.Equal([0u, 1u, 2u, 3u], raw.Keys().Select(k => BitConverter.ToUInt32(k)).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => map[4]);
    }

    [KernelFact]
    public void Array_Errors_SayWhatToDo()
    {
        using var raw = LoadedMap.Create(new BpfMap("Config", BpfMapType.Array, 4, 8, 2));

        var delete = Assert.Throws<BpfException>(() => raw.Delete(BitConverter.GetBytes(0u)));
        Assert.Equal("EINVAL", delete.ErrnoName);
        Assert.Contains("cannot be deleted", delete.Message);

        var outOfRange = Assert.Throws<BpfException>(() => raw.Update(BitConverter.GetBytes(5u), new byte[8]));
        Assert.Equal("E2BIG", outOfRange.ErrnoName);
        Assert.Equal("Config", outOfRange.ObjectName);
        Assert.Contains("update a key in map Config", outOfRange.Message);

        var noExist = Assert.Throws<BpfException>(() => raw.Update(BitConverter.GetBytes(0u), new byte[8], MapUpdateFlags.NoExist));
        Assert.Equal("EEXIST", noExist.ErrnoName);

        var wrongSize = Assert.Throws<ArgumentException>(() => raw.Update(new byte[2], new byte[8]));
        Assert.Contains("4-byte keys", wrongSize.Message);
        var wrongView = Assert.Throws<InvalidOperationException>(() => raw.AsArray<uint>());
        Assert.Contains("8-byte values", wrongView.Message);
        var wrongType = Assert.Throws<InvalidOperationException>(() => raw.AsHash<uint, ulong>());
        Assert.Contains("Array map", wrongType.Message);
    }

    [KernelFact]
    public void PerCpuArray_ValuesPerCpu_AndSum()
    {
        using var raw = LoadedMap.Create(new BpfMap("Drops", BpfMapType.PerCpuArray, 4, 4, 2));
        var map = raw.AsPerCpuArray<uint>();
        var cpus = SystemCpus.PossibleCount;

        Assert.Equal(8 * cpus, raw.ValueBufferSize); // 4-byte values take 8 bytes per CPU
        var values = Enumerable.Range(1, cpus).Select(i => (uint)i * 10).ToArray();
        map.Update(1, values);

        Assert.Equal(values, map.Lookup(1));
        Assert.Equal((uint)values.Sum(v => v), map.Sum(1u));
        Assert.Equal(0u, map.Sum(0));
        map.Update(0, 3u);
        Assert.Equal((uint)(3 * cpus), map.Sum(0));
        Assert.Throws<ArgumentException>(() => map.Update(0, new uint[cpus + 1]));
        Assert.Equal(2, raw.Keys().Count());
        Assert.Null(raw.Lookup(BitConverter.GetBytes(2u)));
    }

    [KernelFact]
    public void Hash_AddUpdateDeleteIterate()
    {
        using var raw = LoadedMap.Create(new BpfMap("Flows", BpfMapType.Hash, 16, 16, 8));
        var map = raw.AsHash<FlowKey, Stats>();
        var a = new FlowKey(1, 2, 3, 4, 17);
        var b = new FlowKey(5, 6, 7, 8, 6);

        Assert.False(map.TryGetValue(a, out _));
        Assert.True(map.TryAdd(a, new Stats(1, 60)));
        Assert.False(map.TryAdd(a, new Stats(9, 9)));
        map[b] = new Stats(2, 120);
        map.Update(a, new Stats(3, 180), MapUpdateFlags.Exist);

        Assert.Equal(new Stats(3, 180), map[a]);
        Assert.Equal(new Dictionary<FlowKey, Stats> { [a] = new(3, 180), [b] = new(2, 120) }, map.ToDictionary());
        Assert.True(map.Delete(a));
        Assert.False(map.Delete(a));
        Assert.Equal([b], map.Keys.ToArray());
        Assert.Throws<KeyNotFoundException>(() => map[a]);

        var missing = Assert.Throws<BpfException>(() => map.Update(a, default, MapUpdateFlags.Exist));
        Assert.Equal("ENOENT", missing.ErrnoName);
    }

    [KernelFact]
    public void Hash_Full_SaysSo()
    {
        using var raw = LoadedMap.Create(new BpfMap("Small", BpfMapType.Hash, 4, 4, 2));
        var map = raw.AsHash<uint, uint>();
        map[1] = 1;
        map[2] = 2;
        var e = Assert.Throws<BpfException>(() => map[3] = 3);
        Assert.Equal("E2BIG", e.ErrnoName);
        Assert.Contains("full", e.Message);
    }

    [KernelFact]
    public void PerCpuHash_ValuesPerCpu_AndSum()
    {
        using var raw = LoadedMap.Create(new BpfMap("PerFlow", BpfMapType.PerCpuHash, 4, 8, 4));
        var map = raw.AsPerCpuHash<uint, ulong>();
        var cpus = SystemCpus.PossibleCount;
        var values = Enumerable.Range(0, cpus).Select(i => (ulong)(i + 1)).ToArray();

        map.Update(42u, values);
        map.Update(7u, 5ul);

        Assert.True(map.TryGetValue(42u, out var perCpu));
        Assert.Equal(values, perCpu);
        Assert.Equal((ulong)(cpus * (cpus + 1) / 2), map.Sum(42u));
        Assert.Equal((ulong)(5 * cpus), map.Sum(7u));
        Assert.Equal(0ul, map.Sum(1000u));
        Assert.Equal([7u, 42u], map.Keys.Order().ToArray());
        Assert.True(map.Delete(42u));
        Assert.False(map.TryGetValue(42u, out _));
    }

    [KernelFact]
    public void LruHash_EvictsInsteadOfFailing()
    {
        using var raw = LoadedMap.Create(new BpfMap("Recent", BpfMapType.LruHash, 4, 8, 64));
        var map = raw.AsHash<uint, ulong>();
        for (uint i = 0; i < 1000; i++)
            map[i] = i;
        var count = map.Keys.Count();
        Assert.InRange(count, 1, 64 + 64 * SystemCpus.PossibleCount); // LRU keeps roughly max_entries (per-CPU free lists)
        Assert.True(map.TryGetValue(999, out var last));
        Assert.Equal(999ul, last);
    }

    [KernelFact]
    public void LruPerCpuHash_Works()
    {
        using var raw = LoadedMap.Create(new BpfMap("RecentPerCpu", BpfMapType.LruPerCpuHash, 4, 8, 16));
        var map = raw.AsPerCpuHash<uint, ulong>();
        map.Update(1u, 2ul);
        Assert.Equal((ulong)(2 * SystemCpus.PossibleCount), map.Sum(1u));
    }

    [KernelFact]
    public void Create_BadDefinition_SaysWhy()
    {
        var e = Assert.Throws<BpfException>(() => LoadedMap.Create(new BpfMap("BadArray", BpfMapType.Array, 8, 8, 4)));
        Assert.Equal(BpfOperationKind.MapCreate, e.Kind);
        Assert.Equal("create map BadArray", e.Operation);
        Assert.Equal("EINVAL", e.ErrnoName);
        Assert.Contains("key 8 bytes", e.Message);
        Assert.Contains("4-byte keys", e.Message);

        var zero = Assert.Throws<BpfException>(() => LoadedMap.Create(new BpfMap("Empty", BpfMapType.Hash, 4, 4, 0)));
        Assert.Equal("EINVAL", zero.ErrnoName);
    }

    [KernelFact]
    public void ObjectMaps_GetBtfTypes_WhenTheObjectHasBtf()
    {
        var obj = TestPrograms.Object("typed", [TestPrograms.CountAndReturn("Counter", TestPrograms.XdpPass)],
            [new BpfMap("Counter", BpfMapType.PerCpuArray, 4, 8, 1, KeyType: 1, ValueType: 2)], BtfSamples.IntAndLong());

        using var loaded = BpfObjectLoader.Load(obj);

        Assert.NotNull(loaded.Btf);
        Assert.Empty(loaded.Warnings);
        Assert.True(loaded.Map("Counter").HasBtf);
        var show = Netns.Run("bpftool", "map", "show", "id", loaded.Map("Counter").Id.ToString());
        Assert.Contains("btf_id", show);
        Assert.Contains("name Counter", show);
    }

    [KernelFact]
    public void RefusedBtf_LoadsWithoutIt_AndWarns()
    {
        // A struct that claims 4 bytes but has an 8-byte member: the kernel's BTF checker refuses it.
        var obj = TestPrograms.Object("badbtf", [TestPrograms.CountAndReturn("Counter", TestPrograms.XdpPass)],
            [new BpfMap("Counter", BpfMapType.PerCpuArray, 4, 8, 1, KeyType: 1, ValueType: 2)], BtfSamples.Broken());

        using var loaded = BpfObjectLoader.Load(obj);

        Assert.Null(loaded.Btf);
        Assert.False(loaded.Map("Counter").HasBtf);
        var warning = Assert.Single(loaded.Warnings);
        Assert.Contains("refused the BTF of object badbtf", warning);
        Assert.Equal(XdpAction.Pass, loaded.Program("xdp_count").TestRun(TestPrograms.Ipv4Frame()).Action);
    }

    [KernelFact]
    public void MismatchedBtfTypes_CreateTheMapWithoutThem_AndWarn()
    {
        // The value type is a 4-byte int but the map's values are 8 bytes.
        var obj = TestPrograms.Object("mismatch", [TestPrograms.ReturnDrop()],
            [new BpfMap("Wrong", BpfMapType.Hash, 4, 8, 4, KeyType: 1, ValueType: 1)], BtfSamples.IntAndLong());

        using var loaded = BpfObjectLoader.Load(obj);

        Assert.NotNull(loaded.Btf);
        Assert.False(loaded.Map("Wrong").HasBtf);
        Assert.Contains(loaded.Warnings, w => w.Contains("map Wrong"));
    }

    [KernelFact]
    public void PinnedByName_IsCreatedThenReused()
    {
        var root = Path.Combine("/sys/fs/bpf", $"xdpc-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        try
        {
            var definition = new BpfMap("Shared", BpfMapType.Array, 4, 8, 1, Pinning: BpfMapPinning.ByName);
            var obj = TestPrograms.Object("pinned", TestPrograms.CountAndReturn("Shared", TestPrograms.XdpPass) with { }, definition);
            var options = new BpfObjectLoadOptions { PinRoot = root };

            using (var first = BpfObjectLoader.Load(obj, options))
            {
                first.Program("xdp_count").TestRun(TestPrograms.Ipv4Frame());
                Assert.Equal(Path.Combine(root, "Shared"), first.Map("Shared").PinnedPath);
            }
            Assert.True(File.Exists(Path.Combine(root, "Shared")));
            using (var second = BpfObjectLoader.Load(obj, options))
                Assert.Equal(1ul, second.Map("Shared").AsArray<ulong>()[0]); // the same map, with the first run's count

            var other = obj with { Maps = [definition with { MaxEntries = 2 }] };
            var e = Assert.Throws<InvalidOperationException>(() => BpfObjectLoader.Load(other, options));
            Assert.Contains("does not match map Shared", e.Message);
        }
        finally
        {
            foreach (var file in Directory.GetFiles(root))
                File.Delete(file);
            Directory.Delete(root);
        }
    }
}

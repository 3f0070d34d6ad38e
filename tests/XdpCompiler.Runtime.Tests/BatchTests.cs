using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime.Interop;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Runtime.Tests;

/// <summary>BPF_MAP_*_BATCH on hash and array maps, and the element-by-element fallback where the kernel lacks them.</summary>
public sealed class BatchTests
{
    private static (uint[] Keys, ulong[] Values) Pairs(int count) =>
        (Enumerable.Range(0, count).Select(i => (uint)(i * 7 + 1)).ToArray(), Enumerable.Range(0, count).Select(i => (ulong)i * 1000).ToArray());

    [KernelFact]
    public void Hash_UpdateLookupDeleteAndDrain_InBatches()
    {
        using var raw = LoadedMap.Create(new BpfMap("Flows", BpfMapType.Hash, 4, 8, 2048));
        var map = raw.AsHash<uint, ulong>();
        var (keys, values) = Pairs(1000);

        map.UpdateBatch(keys, values);
        Assert.Equal(1000, map.Keys.Count());
        Assert.Equal(values[500], map[keys[500]]);

        var read = map.LookupBatch(batchSize: 64); // many rounds of the kernel's position token
        Assert.Equal(keys.Zip(values).ToDictionary(p => p.First, p => p.Second), read.ToDictionary(p => p.Key, p => p.Value));

        var toDelete = keys.Take(400).Concat([999_999u, 999_998u]).ToArray(); // two absent keys are skipped
        Assert.Equal(400, map.DeleteBatch(toDelete));
        Assert.Equal(600, map.Keys.Count());

        var drained = map.LookupAndDeleteBatch(batchSize: 50);
        Assert.Equal(keys.Skip(400).Order(), drained.Select(p => p.Key).Order());
        Assert.Empty(map.Keys);
        Assert.Equal(MapBatchOperations.None, raw.BatchFallbacks);
    }

    [KernelFact]
    public void Hash_UpdateFlags_AreHonoured_ElementByElement()
    {
        using var raw = LoadedMap.Create(new BpfMap("Flags", BpfMapType.Hash, 4, 8, 8));
        var map = raw.AsHash<uint, ulong>();
        map.UpdateBatch([1u, 2u], [10ul, 20ul], MapUpdateFlags.NoExist);

        var exists = Assert.Throws<BpfException>(() => map.UpdateBatch([3u, 1u], [30ul, 11ul], MapUpdateFlags.NoExist));
        Assert.Equal("EEXIST", exists.ErrnoName);
        Assert.Contains("1 of 2 elements were done before the failure", exists.Message);
        Assert.Equal(30ul, map[3]);
        Assert.Equal(10ul, map[1]);

        var missing = Assert.Throws<BpfException>(() => map.UpdateBatch([2u, 4u], [21ul, 40ul], MapUpdateFlags.Exist));
        Assert.Equal("ENOENT", missing.ErrnoName);
        Assert.Equal(21ul, map[2]);
        Assert.False(map.TryGetValue(4, out _));

        var full = Assert.Throws<BpfException>(() => map.UpdateBatch(Enumerable.Range(10, 10).Select(i => (uint)i).ToArray(), new ulong[10]));
        Assert.Equal("E2BIG", full.ErrnoName);
        Assert.True(full.Message.Contains("5 of 10 elements were done"), full.Message); // 3 were there, the map holds 8
        Assert.Throws<ArgumentException>(() => map.UpdateBatch([1u], []));
    }

    [KernelFact]
    public void Array_UpdateAndLookup_InBatches_ButCannotDrain()
    {
        using var raw = LoadedMap.Create(new BpfMap("Slots", BpfMapType.Array, 4, 8, 100));
        var map = raw.AsArray<ulong>();
        var indexes = Enumerable.Range(0, 50).Select(i => (uint)(i * 2)).ToArray();

        map.UpdateBatch(indexes, indexes.Select(i => (ulong)i + 1).ToArray());

        var all = map.LookupBatch(batchSize: 16);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => i % 2 == 0 ? (ulong)i + 1 : 0), all);
        Assert.Throws<ArgumentOutOfRangeException>(() => map.UpdateBatch([100u], [1ul]));
        var e = Assert.ThrowsAny<BpfException>(() => raw.LookupAndDeleteBatch());
        Assert.Contains("Slots", e.Message);
    }

    [KernelFact]
    public void PerCpuHash_BatchValues_HoldOneSlotPerCpu()
    {
        using var raw = LoadedMap.Create(new BpfMap("PerCpu", BpfMapType.PerCpuHash, 4, 8, 16));
        var cpus = SystemCpus.PossibleCount;
        var value = new byte[raw.ValueBufferSize];
        for (var cpu = 0; cpu < cpus; cpu++)
            BitConverter.TryWriteBytes(value.AsSpan(cpu * 8), (ulong)(cpu + 1));
        raw.UpdateBatch([.. BitConverter.GetBytes(5u), .. BitConverter.GetBytes(6u)], [.. value, .. value]);

        var read = raw.LookupBatch();
        Assert.Equal(2, read.Count);
        Assert.All(read, e => Assert.Equal(value, e.Value));
        Assert.Equal((ulong)(cpus * (cpus + 1) / 2), raw.AsPerCpuHash<uint, ulong>().Sum(5u));
    }

    /// <summary>A kernel without the batch commands (simulated: they answer ENOTSUPP) gets the same results element by element.</summary>
    [KernelFact]
    public unsafe void WithoutKernelBatchSupport_TheSameCallsFallBack()
    {
        using var raw = LoadedMap.Create(new BpfMap("Old", BpfMapType.Hash, 4, 8, 64));
        var map = raw.AsHash<uint, ulong>();
        var (keys, values) = Pairs(40);
        var refused = 0;
        using (BpfSyscall.Intercept((command, attr, size) =>
        {
            if (command is BpfCommand.MapLookupBatch or BpfCommand.MapLookupAndDeleteBatch or BpfCommand.MapUpdateBatch or BpfCommand.MapDeleteBatch)
            {
                refused++;
                return -Errno.ENOTSUPP;
            }
            return BpfSyscall.Raw(command, attr, size);
        }))
        {
            map.UpdateBatch(keys, values);
            Assert.Equal(40, map.LookupBatch().Count);
            Assert.Equal(10, map.DeleteBatch(keys.Take(10).ToArray()));
            Assert.Equal(30, map.LookupAndDeleteBatch().Count);
            map.UpdateBatch(keys, values); // known unsupported now: no second attempt
        }

        Assert.Equal(4, refused);
        Assert.Equal(MapBatchOperations.Lookup | MapBatchOperations.LookupAndDelete | MapBatchOperations.Update | MapBatchOperations.Delete, raw.BatchFallbacks);
        Assert.Equal(40, map.Keys.Count());
    }
}

using System.Diagnostics;
using System.Runtime.InteropServices;
using XdpCompiler.Runtime.Tests.Elf;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Runtime.Tests;

/// <summary>
/// The ring buffer consumer against the kernel's producer: TestData/ringbuf.c emits numbered events from
/// BPF_PROG_TEST_RUN, so order and loss can be checked exactly.
/// </summary>
public sealed class RingBufferTests
{
    [StructLayout(LayoutKind.Sequential)]
    public record struct Event(ulong Seq, uint Len, uint Marker);

    private const uint OutputMarker = 0xfeedbeef, ReserveMarker = 0xdecade, BurstMarker = 0xb0b0;

    private static LoadedBpfObject Load() => BpfObjectLoader.Load(Clang.Object("ringbuf"), "ringbuf");

    [KernelToolFact(Clang.Tool)]
    public async Task AsyncStream_DeliversEveryEventInOrder_AcrossManyWrapArounds()
    {
        using var obj = Load();
        Assert.True(obj.Warnings.IsEmpty, string.Join("\n", obj.Warnings));
        using var ring = obj.Map("events").OpenRingBuffer();
        Assert.Equal(64 * 1024, ring.Size);
        const int batches = 20, perBatch = 1000; // 24 KB a batch, 480 KB in all: the 64 KiB ring wraps 7 times
        var received = new List<Event>();
        var count = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var consumer = Task.Run(async () =>
        {
            await foreach (var e in ring.ReadAllAsync<Event>(cts.Token))
            {
                received.Add(e);
                Volatile.Write(ref count, received.Count);
                if (received.Count == batches * perBatch)
                    break;
            }
        });

        var program = obj.Program("xdp_output");
        for (var batch = 0; batch < batches; batch++)
        {
            program.TestRun(TestPrograms.Ipv4Frame(), repeat: perBatch);
            // A batch fits the ring only once the reader has caught up with the previous one.
            var deadline = Stopwatch.StartNew();
            while (Volatile.Read(ref count) < (batch + 1) * perBatch && deadline.Elapsed < TimeSpan.FromSeconds(20))
                await Task.Delay(1);
        }
        await consumer.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0ul, obj.Global<ulong>("dropped").Value);
        Assert.Equal(Enumerable.Range(0, batches * perBatch).Select(i => (ulong)i), received.Select(e => e.Seq));
        Assert.All(received, e => Assert.Equal((64u, OutputMarker), (e.Len, e.Marker)));
        Assert.Equal(0, ring.PendingBytes);
    }

    [KernelToolFact(Clang.Tool)]
    public void Burst_Of100000_FromBackToBackTestRuns_LosesNothing()
    {
        using var obj = Load();
        using var ring = obj.Map("burst").OpenRingBuffer();
        const int total = 100_000;
        var seqs = new ulong[total];
        var received = 0;
        var failure = (Exception?)null;

        var reader = new Thread(() =>
        {
            try
            {
                var deadline = Stopwatch.StartNew();
                while (received < total && deadline.Elapsed < TimeSpan.FromSeconds(60))
                {
                    ring.Poll<Event>(e =>
                    {
                        if (e.Marker != BurstMarker)
                            throw new InvalidDataException($"event {e.Seq} has marker {e.Marker:x}");
                        seqs[received++] = e.Seq;
                    }, TimeSpan.FromMilliseconds(200));
                }
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        reader.Start();

        var program = obj.Program("xdp_burst");
        for (var i = 0; i < 10; i++)
            program.TestRun(TestPrograms.Ipv4Frame(), repeat: total / 10);
        Assert.True(reader.Join(TimeSpan.FromSeconds(90)), "the reader did not finish");

        Assert.Null(failure);
        Assert.Equal(0ul, obj.Global<ulong>("dropped").Value);
        Assert.Equal(total, received);
        for (var i = 0; i < total; i++)
        {
            if (seqs[i] != (ulong)i)
                Assert.Fail($"event {i} has sequence number {seqs[i]}");
        }
    }

    [KernelToolFact(Clang.Tool)]
    public void DiscardedRecords_AreSkipped_AndTheirSpaceGivenBack()
    {
        using var obj = Load();
        using var ring = obj.Map("events").OpenRingBuffer();

        obj.Program("xdp_reserve").TestRun(TestPrograms.Ipv4Frame(), repeat: 100);
        Assert.True(ring.PendingBytes >= 100 * 24, "the discarded records take space until the reader passes them");

        var events = new List<Event>();
        Assert.Equal(50, ring.Consume<Event>(events.Add));

        Assert.Equal(Enumerable.Range(0, 50).Select(i => (ulong)(2 * i)), events.Select(e => e.Seq));
        Assert.All(events, e => Assert.Equal(ReserveMarker, e.Marker));
        Assert.Equal(0, ring.PendingBytes);
        Assert.Equal(0, ring.Consume(_ => Assert.Fail("nothing is left")));
    }

    [KernelToolFact(Clang.Tool)]
    public void CallbackApi_ConsumeLimitsAndPollTimesOut()
    {
        using var obj = Load();
        using var ring = obj.Map("events").OpenRingBuffer();

        var started = Stopwatch.StartNew();
        Assert.Equal(0, ring.Poll(_ => { }, TimeSpan.FromMilliseconds(100)));
        Assert.True(started.ElapsedMilliseconds >= 90, $"Poll returned after {started.ElapsedMilliseconds} ms with nothing to read");

        obj.Program("xdp_output").TestRun(TestPrograms.Ipv4Frame(100), repeat: 5);
        var lengths = new List<int>();
        Assert.Equal(2, ring.Consume(r => lengths.Add(r.Length), maxRecords: 2));
        Assert.True(ring.TryRead(out byte[] raw));
        Assert.Equal(2ul, MemoryMarshal.Read<Event>(raw).Seq);
        Assert.True(ring.TryRead(out Event typed));
        Assert.Equal((3ul, 100u), (typed.Seq, typed.Len));
        Assert.Equal(1, ring.Poll<Event>(e => Assert.Equal(4ul, e.Seq), TimeSpan.FromSeconds(5)));
        Assert.Equal([16, 16], lengths);
        Assert.False(ring.TryRead(out byte[] _));
    }

    [KernelToolFact(Clang.Tool)]
    public async Task WaitAsync_WakesWhenTheProgramWrites()
    {
        using var obj = Load();
        using var ring = obj.Map("events").OpenRingBuffer();
        var wait = ring.WaitAsync();
        await Task.Delay(50);
        Assert.False(wait.IsCompleted);

        obj.Program("xdp_output").TestRun(TestPrograms.Ipv4Frame());

        await wait.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(ring.TryRead(out Event e));
        Assert.Equal(0ul, e.Seq);
    }

    [KernelToolFact(Clang.Tool)]
    public async Task Cancellation_StopsAWaitingStream_AndDisposeEndsOne()
    {
        using var obj = Load();
        var ring = obj.Map("events").OpenRingBuffer();
        using var cts = new CancellationTokenSource();
        var reading = Task.Run(async () =>
        {
            await foreach (var _ in ring.ReadAllAsync(cts.Token))
                Assert.Fail("nothing was written");
        });
        await Task.Delay(100);
        Assert.False(reading.IsCompleted);
        var stopwatch = Stopwatch.StartNew();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(2), $"cancellation took {stopwatch.Elapsed}");

        // Records read before the cancellation stay read; the next reader continues after them.
        obj.Program("xdp_output").TestRun(TestPrograms.Ipv4Frame(), repeat: 3);
        var seen = new List<ulong>();
        var ending = Task.Run(async () =>
        {
            await foreach (var e in ring.ReadAllAsync<Event>())
                seen.Add(e.Seq);
        });
        var deadline = Stopwatch.StartNew();
        while (Volatile.Read(ref seen).Count < 3 && deadline.Elapsed < TimeSpan.FromSeconds(5))
            await Task.Delay(5);
        ring.Dispose();
        await ending.WaitAsync(TimeSpan.FromSeconds(5)); // disposal ends the stream without an exception
        Assert.Equal([0ul, 1ul, 2ul], seen);
        Assert.Throws<ObjectDisposedException>(() => ring.TryRead(out byte[] _));
    }

    /// <summary>Dispose racing a reader that is just starting to wait must still end the reader.</summary>
    [KernelToolFact(Clang.Tool)]
    public async Task Dispose_WhileAReaderStartsWaiting_AlwaysEndsIt()
    {
        using var obj = Load();
        for (var i = 0; i < 200; i++)
        {
            var ring = obj.Map("events").OpenRingBuffer();
            var reading = Task.Run(async () =>
            {
                await foreach (var _ in ring.ReadAllAsync())
                {
                }
            });
            if (i % 2 == 0)
                await Task.Yield();
            ring.Dispose();
            await reading.WaitAsync(TimeSpan.FromSeconds(5));
        }
    }

    [KernelToolFact(Clang.Tool)]
    public async Task TypedRecords_OfTheWrongSize_AreAClearError_AndAreConsumed()
    {
        using var obj = Load();
        using var ring = obj.Map("events").OpenRingBuffer();
        obj.Program("xdp_output").TestRun(TestPrograms.Ipv4Frame(), repeat: 2);

        var e = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var _ in ring.ReadAllAsync<ulong>())
            {
            }
        });
        Assert.Contains("ring buffer events is 16 bytes, but UInt64 is 8", e.Message);
        Assert.True(ring.TryRead(out Event second));
        Assert.Equal(1ul, second.Seq);
    }

    [KernelFact]
    public void Open_OnAnotherMapType_SaysWhatItNeeds()
    {
        using var map = LoadedMap.Create(new Core.Objects.BpfMap("Counts", Core.Objects.BpfMapType.Array, 4, 8, 1));
        var e = Assert.Throws<InvalidOperationException>(() => map.OpenRingBuffer());
        Assert.Contains("Map Counts is a Array map; RingBuffer needs a RingBuf map", e.Message);
    }

    /// <summary>The busy bit, discards and a record across the end, on memory laid out as the kernel maps it.</summary>
    [Fact]
    public unsafe void Layout_StopsAtBusy_SkipsDiscarded_AndReadsAcrossTheEnd()
    {
        const int size = 64;
        var consumer = (nuint*)NativeMemory.AllocZeroed(8);
        var producer = (nuint*)NativeMemory.AllocZeroed(8);
        var data = (byte*)NativeMemory.AllocZeroed(2 * size);
        try
        {
            var ring = new RingLayout(consumer, producer, data, size - 1);
            void Write(nuint position, uint header, ReadOnlySpan<byte> payload)
            {
                var bytes = new byte[8 + payload.Length];
                BitConverter.TryWriteBytes(bytes, header);
                payload.CopyTo(bytes.AsSpan(8));
                for (var i = 0; i < bytes.Length; i++)
                {
                    // The second mapping repeats the first: write both copies, as the shared pages would show.
                    var at = (int)((position + (nuint)i) % size);
                    data[at] = bytes[i];
                    data[at + size] = bytes[i];
                }
            }

            Write(0, RingLayout.BusyBit | 4, [1, 2, 3, 4]);
            *producer = 16;
            Assert.False(ring.TryPeek(out _, out _, out _));

            Write(0, RingLayout.DiscardBit | 4, [1, 2, 3, 4]);
            Write(16, 5, [5, 6, 7, 8, 9]);
            *producer = 32;
            Assert.True(ring.TryPeek(out var record, out var length, out var next));
            Assert.Equal((nuint)16, *consumer); // the discarded record was given back on the way
            Assert.Equal([5, 6, 7, 8, 9], new ReadOnlySpan<byte>(record, length).ToArray());
            Assert.Equal((nuint)32, next);
            ring.Release(next);

            // A 20-byte record at 56 runs past the end of the 64-byte area; the second mapping makes it contiguous.
            *consumer = 56;
            var payload = Enumerable.Range(100, 20).Select(i => (byte)i).ToArray();
            Write(56, 20, payload);
            *producer = 56 + 32;
            Assert.True(ring.TryPeek(out record, out length, out next));
            Assert.Equal(payload, new ReadOnlySpan<byte>(record, length).ToArray());
            Assert.Equal((nuint)(56 + 32), next);

            Write(88, 1000, []);
            *consumer = 88;
            *producer = 88 + 8;
            Assert.Throws<InvalidDataException>(() => ring.TryPeek(out _, out _, out _));
        }
        finally
        {
            NativeMemory.Free(consumer);
            NativeMemory.Free(producer);
            NativeMemory.Free(data);
        }
    }
}

/// <summary>Ring buffer readers give back every mapping and descriptor.</summary>
[Collection(SequentialCollection.Name)]
public sealed class RingBufferLeakTests
{
    [KernelToolFact(Clang.Tool)]
    public async Task Dispose_UnmapsTheRing_AndClosesEpollAndEventfd()
    {
        using var obj = BpfObjectLoader.Load(Clang.Object("ringbuf"), "ringbuf");
        var map = obj.Map("events");
        using (var warm = map.OpenRingBuffer())
            await warm.WaitAsync(new CancellationTokenSource(10).Token).ContinueWith(_ => { });
        // Objects earlier tests dropped without disposing must not close their descriptors mid-count.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var fds = FileDescriptors.CountAll();
        var describeBefore = FileDescriptors.Describe();
        var mappings = RingMappings();

        for (var i = 0; i < 50; i++)
        {
            var ring = map.OpenRingBuffer();
            Assert.True(RingMappings() > mappings);
            using var cts = new CancellationTokenSource(5);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ring.WaitAsync(cts.Token));
            ring.Dispose();
        }

        Assert.Equal(mappings, RingMappings());
        Assert.True(fds == FileDescriptors.CountAll(), $"descriptors before:\n{describeBefore}\nnow:\n{FileDescriptors.Describe()}");
    }

    // An mmap of a BPF map shows in /proc/self/maps as the map's anonymous inode.
    private static int RingMappings() => File.ReadLines("/proc/self/maps").Count(l => l.Contains("bpf-map", StringComparison.Ordinal));
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime.Interop;

namespace XdpCompiler.Runtime;

/// <summary>Receives one ring buffer record; the span is valid only during the call (it points into the ring).</summary>
public delegate void RingBufferRecordHandler(ReadOnlySpan<byte> record);

/// <summary>
/// The consumer side of a BPF_MAP_TYPE_RINGBUF map, as libbpf's ring_buffer: the consumer page is mapped read-write
/// (this side moves consumer_pos), the producer page and the data area read-only, the data area twice in a row so a
/// record that wraps around the end reads as one contiguous span. Waiting is epoll on the map fd, which the kernel
/// makes readable while unread data is in the ring. Records still being written (busy bit) end a read; records the
/// program discarded are skipped. One consumer at a time: reads are serialised.
/// </summary>
public sealed class RingBuffer : IDisposable
{
    private const ulong MapEvent = 0, WakeEvent = 1;

    private readonly LoadedMap _map;
    private readonly object _lock = new();
    private readonly BpfFd _epoll;
    private readonly BpfFd _wake;
    private readonly nuint _pageSize;
    private readonly unsafe byte* _consumerPage;
    private readonly unsafe byte* _producerPages;
    private readonly RingLayout _ring;
    private bool _mapReferenced;
    private volatile bool _disposed;

    private unsafe RingBuffer(LoadedMap map, BpfFd epoll, BpfFd wake, nuint pageSize, byte* consumerPage, byte* producerPages)
    {
        _map = map;
        _epoll = epoll;
        _wake = wake;
        _pageSize = pageSize;
        _consumerPage = consumerPage;
        _producerPages = producerPages;
        _ring = new RingLayout((nuint*)consumerPage, (nuint*)producerPages, producerPages + pageSize, map.MaxEntries - 1);
        _mapReferenced = true;
    }

    /// <summary>The ring's map (its descriptor stays open until this reader is disposed, even if the map is disposed first).</summary>
    public LoadedMap Map => _map;

    /// <summary>The data area's size in bytes (the map's max_entries).</summary>
    public int Size => (int)_map.MaxEntries;

    /// <summary>Bytes written by the program and not yet consumed (records, headers and discarded records).</summary>
    public unsafe long PendingBytes
    {
        get
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                return (long)_ring.Pending;
            }
        }
    }

    /// <summary>Maps the ring of <paramref name="map"/> and prepares epoll on it.</summary>
    public static unsafe RingBuffer Open(LoadedMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (map.Type != BpfMapType.RingBuf)
            throw new InvalidOperationException($"Map {map.Name} is a {map.Type} map; {nameof(RingBuffer)} needs a {BpfMapType.RingBuf} map.");
        var pageSize = (nuint)Environment.SystemPageSize;
        var size = (nuint)map.MaxEntries;
        var operation = $"open ring buffer {map.Name}";

        var referenced = false;
        byte* consumer = null, producer = null;
        BpfFd? epoll = null, wake = null;
        try
        {
            map.Fd.DangerousAddRef(ref referenced);
            var fd = map.Fd.Value;
            consumer = (byte*)Libc.Mmap(null, pageSize, Libc.ProtRead | Libc.ProtWrite, Libc.MapShared, fd, 0);
            if (consumer == Libc.MapFailed)
            {
                consumer = null;
                throw Failure(map, operation + " (map the consumer page)", Marshal.GetLastPInvokeError());
            }
            // The producer page, then the data area twice: the kernel maps the same pages again after the first copy.
            producer = (byte*)Libc.Mmap(null, pageSize + 2 * size, Libc.ProtRead, Libc.MapShared, fd, (long)pageSize);
            if (producer == Libc.MapFailed)
            {
                producer = null;
                throw Failure(map, operation + " (map the producer page and data)", Marshal.GetLastPInvokeError());
            }

            var epollFd = Libc.EpollCreate1(Libc.EpollCloexec);
            if (epollFd < 0)
                throw Failure(map, operation + " (epoll_create1)", Marshal.GetLastPInvokeError());
            epoll = new BpfFd(epollFd);
            var wakeFd = Libc.EventFd(0, Libc.EfdCloexec | Libc.EfdNonblock);
            if (wakeFd < 0)
                throw Failure(map, operation + " (eventfd)", Marshal.GetLastPInvokeError());
            wake = new BpfFd(wakeFd);
            Register(epollFd, fd, MapEvent, map, operation);
            Register(epollFd, wakeFd, WakeEvent, map, operation);
            return new RingBuffer(map, epoll, wake, pageSize, consumer, producer);
        }
        catch
        {
            if (producer != null)
                Libc.Munmap(producer, pageSize + 2 * size);
            if (consumer != null)
                Libc.Munmap(consumer, pageSize);
            wake?.Dispose();
            epoll?.Dispose();
            if (referenced)
                map.Fd.DangerousRelease();
            throw;
        }
    }

    private static unsafe void Register(int epollFd, int fd, ulong data, LoadedMap map, string operation)
    {
        var buffer = stackalloc byte[16];
        Libc.WriteEpollEvent(buffer, Libc.EpollIn, data);
        if (Libc.EpollCtl(epollFd, Libc.EpollCtlAdd, fd, buffer) < 0)
            throw Failure(map, operation + " (epoll_ctl)", Marshal.GetLastPInvokeError());
    }

    private static BpfException Failure(LoadedMap map, string operation, int errno) =>
        BpfErrors.Create(BpfOperationKind.RingBuffer, operation, map.Name, errno, $"ring of {map.MaxEntries} bytes");

    /// <summary>
    /// Hands every committed record to <paramref name="handler"/> (at most <paramref name="maxRecords"/>) without
    /// waiting; returns how many. A record is consumed (its space given back to the program) once the handler returns.
    /// </summary>
    public unsafe int Consume(RingBufferRecordHandler handler, int maxRecords = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var count = 0;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            while (count < maxRecords && !_disposed && _ring.TryPeek(out var record, out var length, out var next))
            {
                try
                {
                    handler(new ReadOnlySpan<byte>(record, length));
                }
                finally
                {
                    _ring.Release(next);
                }
                count++;
            }
        }
        return count;
    }

    /// <summary>As <see cref="Consume(RingBufferRecordHandler, int)"/>, each record read as a <typeparamref name="T"/>.</summary>
    public int Consume<T>(Action<T> handler, int maxRecords = int.MaxValue) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Consume(record => handler(Convert<T>(record)), maxRecords);
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> (infinite: <see cref="Timeout.InfiniteTimeSpan"/>) for data unless some is
    /// there, then consumes it like <see cref="Consume(RingBufferRecordHandler, int)"/>; returns how many records.
    /// </summary>
    public int Poll(RingBufferRecordHandler handler, TimeSpan timeout)
    {
        var consumed = Consume(handler);
        if (consumed > 0)
            return consumed;
        Wait(ToMilliseconds(timeout));
        return _disposed ? 0 : Consume(handler);
    }

    /// <summary>As <see cref="Poll(RingBufferRecordHandler, TimeSpan)"/>, each record read as a <typeparamref name="T"/>.</summary>
    public int Poll<T>(Action<T> handler, TimeSpan timeout) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Poll(record => handler(Convert<T>(record)), timeout);
    }

    /// <summary>Copies out and consumes the next committed record; false when there is none yet.</summary>
    public bool TryRead(out byte[] record)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return TryReadLocked(out record);
        }
    }

    /// <summary>Reads and consumes the next record as a <typeparamref name="T"/>; false when there is none yet.</summary>
    public unsafe bool TryRead<T>(out T record) where T : unmanaged
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_ring.TryPeek(out var data, out var length, out var next))
            {
                record = default;
                return false;
            }
            try
            {
                record = Convert<T>(new ReadOnlySpan<byte>(data, length));
            }
            finally
            {
                _ring.Release(next);
            }
            return true;
        }
    }

    /// <summary>
    /// The records as they arrive, in order, each copied out of the ring, until <paramref name="cancellationToken"/> is
    /// cancelled (the enumeration then throws <see cref="OperationCanceledException"/>) or this reader is disposed (the
    /// enumeration then ends). Waiting blocks a thread-pool thread in epoll_wait; cancellation wakes it at once.
    /// </summary>
    public async IAsyncEnumerable<byte[]> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            byte[]? record;
            while ((record = Next()) is not null)
            {
                yield return record;
                cancellationToken.ThrowIfCancellationRequested();
            }
            if (_disposed)
                yield break;
            await WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        byte[]? Next()
        {
            lock (_lock)
                return !_disposed && TryReadLocked(out var r) ? r : null;
        }
    }

    /// <summary>As <see cref="ReadAllAsync(CancellationToken)"/>, each record read as a <typeparamref name="T"/> (its size must be the record's).</summary>
    public async IAsyncEnumerable<T> ReadAllAsync<T>([EnumeratorCancellation] CancellationToken cancellationToken = default) where T : unmanaged
    {
        await foreach (var record in ReadAllAsync(cancellationToken).ConfigureAwait(false))
            yield return Convert<T>(record);
    }

    /// <summary>Waits until the ring has data, the token is cancelled (throws) or the reader is disposed (returns).</summary>
    public async Task WaitAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_disposed || HasData())
            return;
        using (cancellationToken.UnsafeRegister(static state => ((RingBuffer)state!).Signal(), this))
            await Task.Run(() => Wait(Timeout.Infinite), CancellationToken.None).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private unsafe bool HasData()
    {
        lock (_lock)
            return !_disposed && _ring.Pending > 0;
    }

    private unsafe bool TryReadLocked(out byte[] record)
    {
        if (!_ring.TryPeek(out var data, out var length, out var next))
        {
            record = [];
            return false;
        }
        record = new ReadOnlySpan<byte>(data, length).ToArray();
        _ring.Release(next);
        return true;
    }

    private unsafe T Convert<T>(ReadOnlySpan<byte> record) where T : unmanaged
    {
        if (record.Length != sizeof(T))
            throw new InvalidDataException(
                $"A record of ring buffer {_map.Name} is {record.Length} bytes, but {typeof(T).Name} is {sizeof(T)}: the program's record type and the C# struct differ (use the byte[] overloads for records of varying size).");
        return MemoryMarshal.Read<T>(record);
    }

    private static int ToMilliseconds(TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
            return Timeout.Infinite;
        if (timeout < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "Use a non-negative timeout or Timeout.InfiniteTimeSpan.");
        return (int)Math.Min(int.MaxValue, Math.Ceiling(timeout.TotalMilliseconds));
    }

    /// <summary>epoll_wait on the map and the wake-up eventfd; true when the map reported data.</summary>
    private unsafe bool Wait(int timeoutMilliseconds)
    {
        // Hold the eventfd too: closing it would take it (and a wake-up written by Dispose) out of the epoll set
        // before this thread reaches epoll_wait, which would then sleep forever.
        bool added = false, wakeAdded = false;
        try
        {
            _epoll.DangerousAddRef(ref added);
            _wake.DangerousAddRef(ref wakeAdded);
        }
        catch (ObjectDisposedException)
        {
            if (added)
                _epoll.DangerousRelease();
            return false;
        }
        try
        {
            var events = stackalloc byte[2 * 16];
            int count;
            do
            {
                count = Libc.EpollWait(_epoll.Value, events, 2, timeoutMilliseconds);
            }
            while (count < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR && !_disposed);
            if (count < 0)
            {
                if (_disposed)
                    return false;
                throw Failure(_map, $"wait for ring buffer {_map.Name} (epoll_wait)", Marshal.GetLastPInvokeError());
            }
            var ready = false;
            for (var i = 0; i < count; i++)
            {
                var data = Unsafe.ReadUnaligned<ulong>(events + i * Libc.EpollEventSize + (Libc.EpollEventSize == 12 ? 4 : 8));
                if (data == MapEvent)
                    ready = true;
                else if (!_disposed)
                    DrainWake();
            }
            return ready;
        }
        finally
        {
            _wake.DangerousRelease();
            _epoll.DangerousRelease();
        }
    }

    private unsafe void DrainWake()
    {
        var added = false;
        try
        {
            _wake.DangerousAddRef(ref added);
            ulong value;
            Libc.Read(_wake.Value, &value, sizeof(ulong));
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            if (added)
                _wake.DangerousRelease();
        }
    }

    private unsafe void Signal()
    {
        var added = false;
        try
        {
            _wake.DangerousAddRef(ref added);
            ulong one = 1;
            Libc.Write(_wake.Value, &one, sizeof(ulong));
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            if (added)
                _wake.DangerousRelease();
        }
    }

    /// <summary>
    /// Unmaps the ring and closes the epoll and eventfd descriptors; a waiter is woken and returns, a running
    /// <see cref="Consume(RingBufferRecordHandler, int)"/> finishes its current record first.
    /// </summary>
    public unsafe void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        Signal(); // wake a waiter; the descriptors close when it lets go of them
        lock (_lock)
        {
            Libc.Munmap(_producerPages, _pageSize + 2 * (nuint)_map.MaxEntries);
            Libc.Munmap(_consumerPage, _pageSize);
            _wake.Dispose();
            _epoll.Dispose();
            if (_mapReferenced)
            {
                _mapReferenced = false;
                _map.Fd.DangerousRelease();
            }
        }
    }

    public override string ToString() => $"ring buffer {_map.Name} ({_map.MaxEntries} bytes)";
}

/// <summary>
/// The ring's shared state (include/uapi/linux/bpf.h, kernel/bpf/ringbuf.c): consumer_pos and producer_pos are
/// free-running byte counts, each record starts with an 8-byte header whose first word is its length with the busy
/// (still being written) and discard bits, and records are 8-byte aligned. Positions are read with acquire and the
/// consumer position written with release semantics (<see cref="Volatile"/>), pairing with the kernel's
/// smp_store_release/smp_load_acquire.
/// </summary>
internal readonly unsafe struct RingLayout(nuint* consumerPos, nuint* producerPos, byte* data, nuint mask)
{
    internal const uint BusyBit = 1u << 31;
    internal const uint DiscardBit = 1u << 30;
    internal const int HeaderSize = 8;

    internal nuint Pending => Volatile.Read(ref *producerPos) - Volatile.Read(ref *consumerPos);

    /// <summary>
    /// The next committed record and the position after it. Discarded records on the way are given back at once; a
    /// busy record or the producer position ends the search.
    /// </summary>
    internal bool TryPeek(out byte* record, out int length, out nuint next)
    {
        var consumer = Volatile.Read(ref *consumerPos);
        while (true)
        {
            var producer = Volatile.Read(ref *producerPos);
            if (consumer >= producer)
                break;
            var header = data + (consumer & mask);
            var word = Volatile.Read(ref *(uint*)header);
            if ((word & BusyBit) != 0)
                break;
            var size = word & ~(BusyBit | DiscardBit);
            if (size > mask + 1 - HeaderSize)
                throw new InvalidDataException($"A ring buffer record header at position {consumer} claims {size} bytes, more than the ring holds.");
            var after = consumer + (nuint)((size + HeaderSize + 7) & ~7u);
            if ((word & DiscardBit) != 0)
            {
                Volatile.Write(ref *consumerPos, after);
                consumer = after;
                continue;
            }
            record = header + HeaderSize;
            length = (int)size;
            next = after;
            return true;
        }
        record = null;
        length = 0;
        next = consumer;
        return false;
    }

    /// <summary>Gives the space up to <paramref name="next"/> back to the producer.</summary>
    internal void Release(nuint next) => Volatile.Write(ref *consumerPos, next);
}

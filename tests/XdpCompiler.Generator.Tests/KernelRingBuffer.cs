using System.Runtime.InteropServices;
using XdpCompiler.Runtime;

namespace XdpCompiler.Generator.Tests;

/// <summary>
/// A minimal BPF ring buffer consumer for tests: maps the consumer page, the producer page and the data pages (the
/// kernel maps the data twice in a row, so a record that wraps is contiguous), walks the records from the consumer
/// position to the producer position and moves the consumer position past them.
/// </summary>
internal static unsafe class KernelRingBuffer
{
    private const int ProtRead = 1, ProtWrite = 2, MapShared = 1;
    private const uint Busy = 1u << 31, Discarded = 1u << 30;
    private const int HeaderSize = 8;

    /// <summary>The submitted records not yet consumed, oldest first (discarded ones skipped); consumes them.</summary>
    public static List<byte[]> Consume(LoadedMap map)
    {
        if (map.Type != Core.Objects.BpfMapType.RingBuf)
            throw new ArgumentException($"Map {map.Name} is a {map.Type}, not a ring buffer.", nameof(map));
        var page = (nuint)Environment.SystemPageSize;
        var size = (nuint)map.MaxEntries;
        var consumerPage = Map(page, ProtRead | ProtWrite, map.Fd.Value, 0);
        try
        {
            var producerLength = page + 2 * size;
            var producerPage = Map(producerLength, ProtRead, map.Fd.Value, (nint)page);
            try
            {
                var consumer = Volatile.Read(ref *(ulong*)consumerPage);
                var producer = Volatile.Read(ref *(ulong*)producerPage);
                var data = (byte*)producerPage + page;
                var mask = (ulong)size - 1;
                var records = new List<byte[]>();
                while (consumer < producer)
                {
                    var header = *(uint*)(data + (consumer & mask));
                    if ((header & Busy) != 0)
                        throw new InvalidOperationException($"Ring buffer {map.Name} holds a record still reserved at position {consumer}.");
                    var length = header & ~(Busy | Discarded);
                    if ((header & Discarded) == 0)
                        records.Add(new ReadOnlySpan<byte>(data + (consumer & mask) + HeaderSize, (int)length).ToArray());
                    consumer += (length + HeaderSize + 7) & ~7u;
                }

                Volatile.Write(ref *(ulong*)consumerPage, consumer);
                return records;
            }
            finally
            {
                Unmap(producerPage, page + 2 * size);
            }
        }
        finally
        {
            Unmap(consumerPage, page);
        }
    }

    private static IntPtr Map(nuint length, int protection, int fd, nint offset)
    {
        var address = mmap(IntPtr.Zero, length, protection, MapShared, fd, offset);
        if (address == new IntPtr(-1))
            throw new InvalidOperationException($"mmap of ring buffer fd {fd} (offset {offset}, {length} bytes) failed: errno {Marshal.GetLastPInvokeError()}");
        return address;
    }

    private static void Unmap(IntPtr address, nuint length)
    {
        if (munmap(address, length) != 0)
            throw new InvalidOperationException($"munmap failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern IntPtr mmap(IntPtr address, nuint length, int protection, int flags, int fd, nint offset);

    [DllImport("libc", SetLastError = true)]
    private static extern int munmap(IntPtr address, nuint length);
}

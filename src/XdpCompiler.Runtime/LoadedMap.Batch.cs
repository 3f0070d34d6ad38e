using XdpCompiler.Runtime.Interop;

namespace XdpCompiler.Runtime;

// BPF_MAP_*_BATCH (Linux 5.6+): many elements per system call. Where the kernel or the map type has no batch
// operation the same methods fall back to one call per element, so callers need not care; BatchFallbacks says which.

/// <summary>The batch commands, as flags for <see cref="LoadedMap.BatchFallbacks"/>.</summary>
[Flags]
public enum MapBatchOperations
{
    None = 0,
    Lookup = 1,
    LookupAndDelete = 2,
    Update = 4,
    Delete = 8,
}

public sealed unsafe partial class LoadedMap
{
    private const int DefaultBatchSize = 256;
    private int _batchFallbacks;

    /// <summary>The batch commands this map answered as unsupported (old kernel, or no batch op for the map type): those run element by element.</summary>
    public MapBatchOperations BatchFallbacks => (MapBatchOperations)Volatile.Read(ref _batchFallbacks);

    /// <summary>
    /// Every entry, read <paramref name="batchSize"/> at a time with BPF_MAP_LOOKUP_BATCH (per-CPU values are
    /// <see cref="ValueBufferSize"/> bytes). A consistent snapshot only if nothing writes meanwhile.
    /// </summary>
    public IReadOnlyList<(byte[] Key, byte[] Value)> LookupBatch(int batchSize = DefaultBatchSize) =>
        ReadBatches(BpfCommand.MapLookupBatch, MapBatchOperations.Lookup, batchSize, "look up a batch of map", FallbackLookup);

    /// <summary>
    /// Every entry, removed as it is read (BPF_MAP_LOOKUP_AND_DELETE_BATCH; hash maps). The fallback reads and then
    /// deletes each key, so an update between the two is lost; arrays cannot delete and say so.
    /// </summary>
    public IReadOnlyList<(byte[] Key, byte[] Value)> LookupAndDeleteBatch(int batchSize = DefaultBatchSize) =>
        ReadBatches(BpfCommand.MapLookupAndDeleteBatch, MapBatchOperations.LookupAndDelete, batchSize, "look up and delete a batch of map", FallbackLookupAndDelete);

    /// <summary>
    /// Writes <paramref name="keys"/> (n × <see cref="KeySize"/> bytes) and <paramref name="values"/> (n ×
    /// <see cref="ValueBufferSize"/>). The kernel's batch takes only <see cref="MapUpdateFlags.Any"/> and
    /// <see cref="MapUpdateFlags.Lock"/>; with <see cref="MapUpdateFlags.NoExist"/> or <see cref="MapUpdateFlags.Exist"/>
    /// each element is updated on its own, with the flag. On failure the exception says how many were written.
    /// </summary>
    public void UpdateBatch(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        var count = CheckBatch(keys, nameof(keys));
        if (values.Length != count * ValueBufferSize)
            throw new ArgumentException($"{count} keys of map {Name} need {count * ValueBufferSize} bytes of values ({ValueBufferSize} each), not {values.Length}.", nameof(values));
        if (count == 0)
            return;
        var elementWise = (flags & (MapUpdateFlags.NoExist | MapUpdateFlags.Exist)) != 0 || BatchFallbacks.HasFlag(MapBatchOperations.Update);
        var done = 0;
        if (!elementWise)
        {
            fixed (byte* k = keys)
            fixed (byte* v = values)
            {
                var attr = new MapBatchAttr { Keys = (ulong)k, Values = (ulong)v, Count = (uint)count, ElemFlags = (ulong)flags };
                var result = CallBatch(BpfCommand.MapUpdateBatch, ref attr);
                if (result >= 0)
                    return;
                // A kernel without the command leaves count as it was; one that processed some says how many.
                if (!IsUnsupported(-result))
                    throw BatchFailure(BpfOperationKind.MapUpdate, $"update a batch of map {Name}", -result, (int)attr.Count, count, flags);
                MarkFallback(MapBatchOperations.Update);
            }
        }
        for (; done < count; done++)
        {
            if (!TryUpdate(keys.Slice(done * KeySize, KeySize), values.Slice(done * ValueBufferSize, ValueBufferSize), flags, out var errno))
                throw BatchFailure(BpfOperationKind.MapUpdate, $"update a batch of map {Name}", errno, done, count, flags);
        }
    }

    /// <summary>Deletes <paramref name="keys"/> (n × <see cref="KeySize"/> bytes); keys that are absent are skipped. Returns how many were deleted.</summary>
    public int DeleteBatch(ReadOnlySpan<byte> keys)
    {
        var count = CheckBatch(keys, nameof(keys));
        var deleted = 0;
        var position = 0;
        while (position < count && !BatchFallbacks.HasFlag(MapBatchOperations.Delete))
        {
            var rest = keys[(position * KeySize)..];
            fixed (byte* k = rest)
            {
                var attr = new MapBatchAttr { Keys = (ulong)k, Count = (uint)(count - position) };
                var result = CallBatch(BpfCommand.MapDeleteBatch, ref attr);
                if (result < 0 && IsUnsupported(-result))
                {
                    MarkFallback(MapBatchOperations.Delete);
                    break;
                }
                deleted += (int)attr.Count;
                position += (int)attr.Count;
                if (result >= 0)
                    return deleted;
                if (-result == Errno.ENOENT)
                {
                    position++; // the kernel stops at an absent key: step over it and go on
                    continue;
                }
                throw BatchFailure(BpfOperationKind.MapDelete, $"delete a batch of map {Name}", -result, position, count, null);
            }
        }
        for (; position < count; position++)
        {
            if (Delete(keys.Slice(position * KeySize, KeySize)))
                deleted++;
        }
        return deleted;
    }

    private int CheckBatch(ReadOnlySpan<byte> keys, string parameter)
    {
        if (keys.Length % KeySize != 0)
            throw new ArgumentException($"Map {Name} has {KeySize}-byte keys; {keys.Length} bytes is not a whole number of them.", parameter);
        return keys.Length / KeySize;
    }

    private delegate void Fallback(List<(byte[] Key, byte[] Value)> into);

    private IReadOnlyList<(byte[] Key, byte[] Value)> ReadBatches(BpfCommand command, MapBatchOperations operation, int batchSize, string what, Fallback fallback)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var entries = new List<(byte[] Key, byte[] Value)>();
        if (BatchFallbacks.HasFlag(operation))
        {
            fallback(entries);
            return entries;
        }
        // Positions are a bucket number (hash maps) or a key (arrays): room for either.
        var tokenSize = Math.Max(KeySize, sizeof(ulong));
        var inToken = new byte[tokenSize];
        var outToken = new byte[tokenSize];
        var first = true;
        while (true)
        {
            var keys = new byte[batchSize * KeySize];
            var values = new byte[batchSize * ValueBufferSize];
            int result;
            uint count;
            fixed (byte* input = inToken)
            fixed (byte* output = outToken)
            fixed (byte* k = keys)
            fixed (byte* v = values)
            {
                var attr = new MapBatchAttr
                {
                    InBatch = first ? 0 : (ulong)input,
                    OutBatch = (ulong)output,
                    Keys = (ulong)k,
                    Values = (ulong)v,
                    Count = (uint)batchSize,
                };
                result = CallBatch(command, ref attr);
                count = attr.Count;
            }
            if (result < 0 && -result == Errno.ENOSPC && count == 0)
            {
                // One hash bucket holds more entries than the batch: retry the same position with room for them.
                batchSize *= 2;
                continue;
            }
            if (result < 0 && first && IsUnsupported(-result))
            {
                MarkFallback(operation);
                fallback(entries);
                return entries;
            }
            if (result < 0 && -result != Errno.ENOENT)
            {
                throw BpfErrors.Create(command == BpfCommand.MapLookupBatch ? BpfOperationKind.MapLookup : BpfOperationKind.MapDelete,
                    $"{what} {Name}", Name, -result, $"{Type}, batch of {batchSize}, {entries.Count + (int)count} entries read");
            }
            for (var i = 0; i < count; i++)
                entries.Add((keys.AsSpan(i * KeySize, KeySize).ToArray(), values.AsSpan(i * ValueBufferSize, ValueBufferSize).ToArray()));
            if (result < 0)
                return entries; // ENOENT: that was the last batch
            (inToken, outToken) = (outToken, inToken);
            first = false;
        }
    }

    private void FallbackLookup(List<(byte[] Key, byte[] Value)> into)
    {
        foreach (var key in Keys())
        {
            if (Lookup(key) is { } value)
                into.Add((key, value));
        }
    }

    private void FallbackLookupAndDelete(List<(byte[] Key, byte[] Value)> into)
    {
        // Collect first: deleting while walking a hash map can restart the walk.
        foreach (var key in Keys().ToList())
        {
            if (Lookup(key) is { } value && Delete(key))
                into.Add((key, value));
        }
    }

    /// <summary>
    /// The errnos of a kernel without the batch command (EINVAL from kernels before 5.6, which do not know it) or of
    /// a map type without it (EOPNOTSUPP/ENOTSUPP).
    /// </summary>
    private static bool IsUnsupported(int errno) =>
        errno is Errno.EOPNOTSUPP or Errno.ENOTSUPP or Errno.ENOSYS
        || (errno == Errno.EINVAL && KernelRelease.Current is { } running && running < new Version(5, 6));

    private void MarkFallback(MapBatchOperations operation)
    {
        int current, next;
        do
        {
            current = Volatile.Read(ref _batchFallbacks);
            next = current | (int)operation;
        }
        while (Interlocked.CompareExchange(ref _batchFallbacks, next, current) != current);
    }

    private BpfException BatchFailure(BpfOperationKind kind, string operation, int errno, int done, int total, MapUpdateFlags? flags)
    {
        var progress = $"{done} of {total} elements were done before the failure.";
        var general = BpfErrors.Create(kind, operation, Name, errno,
            $"{Type}, key {KeySize} B, value {ValueSize} B, max_entries {MaxEntries}{(flags is { } f ? $", flags {f}" : "")}");
        return new BpfException(kind, operation, errno, Name, general.Hint is null ? progress : $"{general.Hint} {progress}");
    }

    private int CallBatch(BpfCommand command, ref MapBatchAttr attr)
    {
        var added = false;
        Fd.DangerousAddRef(ref added);
        try
        {
            attr.MapFd = (uint)Fd.Value;
            return BpfSyscall.Invoke(command, ref attr);
        }
        finally
        {
            if (added)
                Fd.DangerousRelease();
        }
    }
}

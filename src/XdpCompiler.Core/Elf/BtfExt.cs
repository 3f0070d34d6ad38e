using System.Buffers.Binary;
using System.Collections.Immutable;
using XdpCompiler.Core.Btf;

namespace XdpCompiler.Core.Elf;

/// <summary><c>struct bpf_func_info</c>: the instruction that starts a function and its BTF FUNC id.</summary>
public readonly record struct BtfFuncInfoRecord(uint InstructionOffset, uint TypeId)
{
    public const int Size = 8;
}

/// <summary>
/// <c>struct bpf_line_info</c>: an instruction's source position. <see cref="FileNameOffset"/> and
/// <see cref="LineOffset"/> (the line's text) are offsets into the .BTF string section.
/// </summary>
public readonly record struct BtfLineInfoRecord(uint InstructionOffset, uint FileNameOffset, uint LineOffset, uint LineColumn)
{
    public const int Size = 16;

    /// <summary>The kernel packs line and column into one word: <c>line &lt;&lt; 10 | column</c>.</summary>
    public const int ColumnBits = 10;
    public const uint MaxColumn = (1u << ColumnBits) - 1;
    public const uint MaxLine = uint.MaxValue >> ColumnBits;

    public uint Line => LineColumn >> ColumnBits;

    public uint Column => LineColumn & MaxColumn;

    public static uint Pack(uint line, uint column) => (line << ColumnBits) | column;
}

/// <summary>The records of one ELF section in a .BTF.ext part; <paramref name="SectionNameOffset"/> is a .BTF string.</summary>
public sealed record BtfExtSection<T>(uint SectionNameOffset, ImmutableArray<T> Records);

/// <summary>
/// The <c>.BTF.ext</c> section: func_info and line_info grouped per ELF section, with instruction offsets in bytes
/// from the start of that section (libbpf divides by 8 and rebases them per program). CO-RE relocations are only
/// counted: nothing here produces or applies them yet.
/// </summary>
public sealed record BtfExtInfo(
    ImmutableArray<BtfExtSection<BtfFuncInfoRecord>> FuncInfo,
    ImmutableArray<BtfExtSection<BtfLineInfoRecord>> LineInfo,
    int CoreRelocationCount = 0)
{
    /// <summary>The oldest header: magic, version, flags, hdr_len, then offset/length of func_info and line_info.</summary>
    public const int MinimumHeaderLength = 24;

    /// <summary>
    /// The header clang writes, with an (empty) CO-RE part. LLVM's own .BTF.ext parser (llvm-objdump) reads all
    /// 32 bytes whatever hdr_len says, so the shorter header would make it misread the func_info as CO-RE relocations.
    /// </summary>
    public const int HeaderLength = 32;

    public byte[] Write()
    {
        if (CoreRelocationCount != 0)
            throw new NotSupportedException("Writing CO-RE relocations into .BTF.ext is not supported.");
        var funcInfo = WritePart(FuncInfo, BtfFuncInfoRecord.Size, (span, r) =>
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span, r.InstructionOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(span.Slice(4), r.TypeId);
        });
        var lineInfo = WritePart(LineInfo, BtfLineInfoRecord.Size, (span, r) =>
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span, r.InstructionOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(span.Slice(4), r.FileNameOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(span.Slice(8), r.LineOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(span.Slice(12), r.LineColumn);
        });

        var result = new byte[HeaderLength + funcInfo.Length + lineInfo.Length];
        var header = result.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(header, BtfWriter.Magic);
        header[2] = 1; // version
        header[3] = 0; // flags
        BinaryPrimitives.WriteUInt32LittleEndian(header.Slice(4), HeaderLength);
        // Offsets count from the end of the header, like .BTF's.
        BinaryPrimitives.WriteUInt32LittleEndian(header.Slice(8), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(header.Slice(12), (uint)funcInfo.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.Slice(16), (uint)funcInfo.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.Slice(20), (uint)lineInfo.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.Slice(24), (uint)(funcInfo.Length + lineInfo.Length));
        BinaryPrimitives.WriteUInt32LittleEndian(header.Slice(28), 0);
        funcInfo.CopyTo(result, HeaderLength);
        lineInfo.CopyTo(result, HeaderLength + funcInfo.Length);
        return result;
    }

    private delegate void RecordWriter<T>(Span<byte> destination, T record);

    private static byte[] WritePart<T>(ImmutableArray<BtfExtSection<T>> sections, int recordSize, RecordWriter<T> write)
    {
        if (sections.IsDefaultOrEmpty)
            return Array.Empty<byte>();
        var length = 4 + sections.Sum(s => 8 + s.Records.Length * recordSize);
        var bytes = new byte[length];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)recordSize);
        var offset = 4;
        foreach (var section in sections)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span.Slice(offset), section.SectionNameOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(span.Slice(offset + 4), (uint)section.Records.Length);
            offset += 8;
            foreach (var record in section.Records)
            {
                write(span.Slice(offset, recordSize), record);
                offset += recordSize;
            }
        }
        return bytes;
    }

    /// <summary>Parses a .BTF.ext section; <see cref="FormatException"/> (with the byte offset) when it is malformed.</summary>
    public static BtfExtInfo Read(ReadOnlySpan<byte> data)
    {
        if (data.Length < 8)
            throw new FormatException($".BTF.ext is {data.Length} bytes, shorter than its 8-byte header prefix.");
        var magic = BinaryPrimitives.ReadUInt16LittleEndian(data);
        if (magic != BtfWriter.Magic)
            throw new FormatException(magic == 0x9feb
                ? ".BTF.ext is big-endian; only little-endian BPF objects are supported."
                : $".BTF.ext magic is 0x{magic:x4} at offset 0, expected 0x{BtfWriter.Magic:x4}.");
        if (data[2] != 1)
            throw new FormatException($".BTF.ext version is {data[2]} at offset 2; only version 1 is known.");
        var headerLength = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(4));
        if (headerLength < MinimumHeaderLength || headerLength > data.Length)
            throw new FormatException($".BTF.ext header length {headerLength} at offset 4 is outside [{MinimumHeaderLength}, {data.Length}].");

        var body = data.Slice((int)headerLength);
        var funcInfo = ReadPart(body, data, 8, "func_info", BtfFuncInfoRecord.Size, r => new BtfFuncInfoRecord(
            BinaryPrimitives.ReadUInt32LittleEndian(r),
            BinaryPrimitives.ReadUInt32LittleEndian(r.Slice(4))), (int)headerLength);
        var lineInfo = ReadPart(body, data, 16, "line_info", BtfLineInfoRecord.Size, r => new BtfLineInfoRecord(
            BinaryPrimitives.ReadUInt32LittleEndian(r),
            BinaryPrimitives.ReadUInt32LittleEndian(r.Slice(4)),
            BinaryPrimitives.ReadUInt32LittleEndian(r.Slice(8)),
            BinaryPrimitives.ReadUInt32LittleEndian(r.Slice(12))), (int)headerLength);

        // core_relo_off/len follow when the header is long enough; a record is 16 bytes.
        var coreCount = 0;
        if (headerLength >= HeaderLength)
        {
            var core = ReadPart(body, data, 24, "core_relo", 16, r => 0, (int)headerLength);
            coreCount = core.Sum(s => s.Records.Length);
        }
        return new BtfExtInfo(funcInfo, lineInfo, coreCount);
    }

    private delegate T RecordReader<T>(ReadOnlySpan<byte> record);

    private static ImmutableArray<BtfExtSection<T>> ReadPart<T>(
        ReadOnlySpan<byte> body, ReadOnlySpan<byte> whole, int headerField, string part, int minimumRecordSize,
        RecordReader<T> read, int bodyStart)
    {
        var offset = BinaryPrimitives.ReadUInt32LittleEndian(whole.Slice(headerField));
        var length = BinaryPrimitives.ReadUInt32LittleEndian(whole.Slice(headerField + 4));
        if (length == 0)
            return ImmutableArray<BtfExtSection<T>>.Empty;
        if ((ulong)offset + length > (ulong)body.Length)
            throw new FormatException($".BTF.ext {part} [{bodyStart + offset}, +{length}) runs past the end of the section ({whole.Length} bytes).");
        var partSpan = body.Slice((int)offset, (int)length);
        var at = bodyStart + (int)offset;
        if (partSpan.Length < 4)
            throw new FormatException($".BTF.ext {part} at offset {at} is too short for its record size.");
        var recordSize = BinaryPrimitives.ReadUInt32LittleEndian(partSpan);
        // Newer producers may append fields; the known prefix stays put, so longer records are read and the rest skipped.
        if (recordSize < minimumRecordSize || recordSize > 4096)
            throw new FormatException($".BTF.ext {part} record size {recordSize} at offset {at} is invalid (expected at least {minimumRecordSize}).");

        var sections = ImmutableArray.CreateBuilder<BtfExtSection<T>>();
        var position = 4;
        while (position < partSpan.Length)
        {
            if (partSpan.Length - position < 8)
                throw new FormatException($".BTF.ext {part} section header at offset {at + position} is truncated.");
            var nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(partSpan.Slice(position));
            var count = BinaryPrimitives.ReadUInt32LittleEndian(partSpan.Slice(position + 4));
            position += 8;
            if ((ulong)count * recordSize > (ulong)(partSpan.Length - position))
                throw new FormatException($".BTF.ext {part} section at offset {at + position - 8} claims {count} records of {recordSize} bytes, more than the {partSpan.Length - position} bytes left.");
            var records = ImmutableArray.CreateBuilder<T>((int)count);
            for (var i = 0; i < count; i++)
            {
                records.Add(read(partSpan.Slice(position, (int)recordSize)));
                position += (int)recordSize;
            }
            sections.Add(new BtfExtSection<T>(nameOffset, records.MoveToImmutable()));
        }
        return sections.ToImmutable();
    }
}

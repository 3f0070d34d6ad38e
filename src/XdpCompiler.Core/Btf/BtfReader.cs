using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Text;

namespace XdpCompiler.Core.Btf;

/// <summary>
/// Reads a <c>.BTF</c> section (or a kernel BTF blob) back into the model <see cref="BtfWriter"/> writes. Malformed
/// input raises <see cref="FormatException"/> naming the byte offset and, inside the type section, the type id and kind.
/// Only little-endian BTF is accepted, as BPF objects for this project are.
/// </summary>
public static class BtfReader
{
    public static (BtfTypeTable Types, BtfStrings Strings) Read(ReadOnlySpan<byte> btf)
    {
        if (btf.Length < BtfWriter.HeaderLength)
            throw new FormatException($"BTF is {btf.Length} bytes, shorter than the {BtfWriter.HeaderLength}-byte header.");
        var magic = BinaryPrimitives.ReadUInt16LittleEndian(btf);
        if (magic != BtfWriter.Magic)
            throw new FormatException(magic == 0x9feb
                ? "BTF is big-endian; only little-endian BTF is supported."
                : $"BTF magic is 0x{magic:x4} at offset 0, expected 0x{BtfWriter.Magic:x4}.");
        if (btf[2] != 1)
            throw new FormatException($"BTF version is {btf[2]} at offset 2; only version 1 is known.");
        var headerLength = BinaryPrimitives.ReadUInt32LittleEndian(btf.Slice(4));
        if (headerLength < BtfWriter.HeaderLength || headerLength > btf.Length)
            throw new FormatException($"BTF header length {headerLength} at offset 4 is outside [{BtfWriter.HeaderLength}, {btf.Length}].");
        var typeOff = BinaryPrimitives.ReadUInt32LittleEndian(btf.Slice(8));
        var typeLen = BinaryPrimitives.ReadUInt32LittleEndian(btf.Slice(12));
        var strOff = BinaryPrimitives.ReadUInt32LittleEndian(btf.Slice(16));
        var strLen = BinaryPrimitives.ReadUInt32LittleEndian(btf.Slice(20));
        var body = btf.Slice((int)headerLength);
        if ((ulong)typeOff + typeLen > (ulong)body.Length)
            throw new FormatException($"BTF type section [{headerLength + typeOff}, +{typeLen}) runs past the end ({btf.Length} bytes).");
        if ((ulong)strOff + strLen > (ulong)body.Length)
            throw new FormatException($"BTF string section [{headerLength + strOff}, +{strLen}) runs past the end ({btf.Length} bytes).");
        if (typeOff % 4 != 0 || typeLen % 4 != 0)
            throw new FormatException($"BTF type section offset {typeOff} / length {typeLen} is not 4-byte aligned.");

        var strings = new BtfStrings(body.Slice((int)strOff, (int)strLen).ToArray(), (int)(headerLength + strOff));
        var types = ReadTypes(body.Slice((int)typeOff, (int)typeLen), (int)(headerLength + typeOff), strings);
        var table = new BtfTypeTable(types);
        CheckReferences(table);
        CheckChains(table);
        return (table, strings);
    }

    private static ImmutableArray<BtfType> ReadTypes(ReadOnlySpan<byte> section, int sectionStart, BtfStrings strings)
    {
        var types = ImmutableArray.CreateBuilder<BtfType>();
        var position = 0;
        while (position < section.Length)
        {
            var start = position;
            var id = types.Count + 1;
            var at = sectionStart + start;
            if (section.Length - position < 12)
                throw new FormatException($"BTF type {id} at offset {at} is truncated: {section.Length - position} bytes left of a 12-byte header.");
            var nameOff = Word(section, position);
            var info = Word(section, position + 4);
            var sizeOrType = Word(section, position + 8);
            position += 12;
            var kindValue = (int)((info >> 24) & 0x1f);
            var vlen = (int)(info & 0xffff);
            var kindFlag = (info >> 31) != 0;
            if (kindValue < (int)BtfKind.Int || kindValue > (int)BtfKind.Enum64)
                throw new FormatException($"BTF type {id} at offset {at} has unknown kind {kindValue}.");
            var kind = (BtfKind)kindValue;

            string Name(uint offset) => strings.Get(offset, $"type {id} ({kind}) at offset {at}");

            ReadOnlySpan<byte> Extra(ReadOnlySpan<byte> s, int bytes)
            {
                if (bytes < 0 || s.Length - position < bytes)
                    throw new FormatException($"BTF type {id} ({kind}) at offset {at} needs {bytes} more bytes, but only {s.Length - position} are left.");
                var slice = s.Slice(position, bytes);
                position += bytes;
                return slice;
            }

            BtfType type;
            switch (kind)
            {
                case BtfKind.Int:
                {
                    var data = Word(Extra(section, 4), 0);
                    type = new BtfInt(Name(nameOff), sizeOrType, (BtfIntEncoding)((data >> 24) & 0x0f), (byte)(data & 0xff), (byte)((data >> 16) & 0xff));
                    break;
                }
                case BtfKind.Ptr or BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict or BtfKind.TypeTag:
                    type = new BtfReference(kind, Name(nameOff), sizeOrType);
                    break;
                case BtfKind.Array:
                {
                    var data = Extra(section, 12);
                    type = new BtfArray(Word(data, 0), Word(data, 4), Word(data, 8));
                    break;
                }
                case BtfKind.Struct or BtfKind.Union:
                {
                    var data = Extra(section, checked(vlen * 12));
                    var members = ImmutableArray.CreateBuilder<BtfMember>(vlen);
                    for (var i = 0; i < vlen; i++)
                    {
                        var offset = Word(data, i * 12 + 8);
                        members.Add(kindFlag
                            ? new BtfMember(Name(Word(data, i * 12)), Word(data, i * 12 + 4), offset & 0xffffff, (byte)(offset >> 24))
                            : new BtfMember(Name(Word(data, i * 12)), Word(data, i * 12 + 4), offset));
                    }
                    type = new BtfComposite(kind == BtfKind.Union, Name(nameOff), sizeOrType, members.MoveToImmutable());
                    break;
                }
                case BtfKind.Enum:
                {
                    var data = Extra(section, checked(vlen * 8));
                    var values = ImmutableArray.CreateBuilder<BtfEnumValue>(vlen);
                    for (var i = 0; i < vlen; i++)
                    {
                        var raw = Word(data, i * 8 + 4);
                        values.Add(new BtfEnumValue(Name(Word(data, i * 8)), kindFlag ? unchecked((int)raw) : raw));
                    }
                    type = new BtfEnum(false, Name(nameOff), sizeOrType, kindFlag, values.MoveToImmutable());
                    break;
                }
                case BtfKind.Enum64:
                {
                    var data = Extra(section, checked(vlen * 12));
                    var values = ImmutableArray.CreateBuilder<BtfEnumValue>(vlen);
                    for (var i = 0; i < vlen; i++)
                    {
                        var value = Word(data, i * 12 + 4) | ((ulong)Word(data, i * 12 + 8) << 32);
                        values.Add(new BtfEnumValue(Name(Word(data, i * 12)), unchecked((long)value)));
                    }
                    type = new BtfEnum(true, Name(nameOff), sizeOrType, kindFlag, values.MoveToImmutable());
                    break;
                }
                case BtfKind.Fwd:
                    type = new BtfForward(Name(nameOff), kindFlag);
                    break;
                case BtfKind.Func:
                    type = new BtfFunc(Name(nameOff), sizeOrType, (BtfFuncLinkage)vlen);
                    break;
                case BtfKind.FuncProto:
                {
                    var data = Extra(section, checked(vlen * 8));
                    var parameters = ImmutableArray.CreateBuilder<BtfParam>(vlen);
                    for (var i = 0; i < vlen; i++)
                        parameters.Add(new BtfParam(Name(Word(data, i * 8)), Word(data, i * 8 + 4)));
                    type = new BtfFuncProto(sizeOrType, parameters.MoveToImmutable());
                    break;
                }
                case BtfKind.Var:
                    type = new BtfVar(Name(nameOff), sizeOrType, (BtfVarLinkage)Word(Extra(section, 4), 0));
                    break;
                case BtfKind.DataSec:
                {
                    var data = Extra(section, checked(vlen * 12));
                    var vars = ImmutableArray.CreateBuilder<BtfVarSecInfo>(vlen);
                    for (var i = 0; i < vlen; i++)
                        vars.Add(new BtfVarSecInfo(Word(data, i * 12), Word(data, i * 12 + 4), Word(data, i * 12 + 8)));
                    type = new BtfDataSec(Name(nameOff), sizeOrType, vars.MoveToImmutable());
                    break;
                }
                case BtfKind.Float:
                    type = new BtfFloat(Name(nameOff), sizeOrType);
                    break;
                case BtfKind.DeclTag:
                    type = new BtfDeclTag(Name(nameOff), sizeOrType, unchecked((int)Word(Extra(section, 4), 0)));
                    break;
                default:
                    throw new FormatException($"BTF type {id} at offset {at} has unknown kind {kindValue}.");
            }
            types.Add(type);
        }
        return types.ToImmutable();
    }

    /// <summary>Every type id a type refers to must exist, so consumers can index the table without checks.</summary>
    private static void CheckReferences(BtfTypeTable table)
    {
        var count = (uint)table.Types.Length;
        for (var i = 0; i < table.Types.Length; i++)
        {
            var type = table.Types[i];
            var id = i + 1;

            void Check(uint reference, string what)
            {
                if (reference > count)
                    throw new FormatException($"BTF type {id} ({type.Kind} '{type.Name}') refers to type {reference} as its {what}, but there are only {count} types.");
            }

            switch (type)
            {
                case BtfReference r:
                    Check(r.Type, "target");
                    break;
                case BtfArray a:
                    Check(a.ElementType, "element type");
                    Check(a.IndexType, "index type");
                    break;
                case BtfComposite c:
                    foreach (var m in c.Members)
                        Check(m.Type, $"member '{m.Name}' type");
                    break;
                case BtfFunc f:
                    Check(f.Proto, "prototype");
                    break;
                case BtfFuncProto p:
                    Check(p.ReturnType, "return type");
                    foreach (var param in p.Params)
                        Check(param.Type, $"parameter '{param.Name}' type");
                    break;
                case BtfVar v:
                    Check(v.Type, "type");
                    break;
                case BtfDataSec d:
                    foreach (var v in d.Vars)
                        Check(v.Type, "variable");
                    break;
                case BtfDeclTag t:
                    Check(t.Type, "tagged type");
                    break;
            }
        }
    }

    /// <summary>
    /// Longest chain of modifiers, typedefs, array elements and variable types allowed. The kernel stops at 32
    /// (MAX_RESOLVE_DEPTH); this is looser, only there so that sizing a type cannot run away on hostile input.
    /// </summary>
    public const int MaxChainLength = 1024;

    /// <summary>
    /// Sizing follows typedefs, qualifiers, array elements and variables (not pointers, which legitimately close
    /// loops such as <c>struct list { struct list *next; }</c>). A loop along those edges would make
    /// <see cref="BtfTypeTable.SizeOf"/> recurse forever, and the kernel rejects such BTF, so it is malformed here too.
    /// </summary>
    private static void CheckChains(BtfTypeTable table)
    {
        var count = table.Types.Length;
        var state = new byte[count + 1]; // 0 = unseen, 1 = on the current walk, 2 = done
        var length = new int[count + 1];
        var walk = new List<uint>();
        for (uint id = 1; id <= count; id++)
        {
            var current = id;
            walk.Clear();
            while (current != 0 && state[current] == 0)
            {
                state[current] = 1;
                walk.Add(current);
                current = Next(table.Types[(int)current - 1]);
            }
            if (current != 0 && state[current] == 1)
                throw new FormatException($"BTF type {current} ({table.Types[(int)current - 1].Kind} '{table.Types[(int)current - 1].Name}') refers to itself through typedefs, qualifiers, array elements or variables.");
            var chain = current == 0 ? 0 : length[current];
            for (var i = walk.Count - 1; i >= 0; i--)
            {
                length[walk[i]] = ++chain;
                state[walk[i]] = 2;
                if (chain > MaxChainLength)
                    throw new FormatException($"BTF type {walk[i]} ({table.Types[(int)walk[i] - 1].Kind}) starts a chain of more than {MaxChainLength} typedefs, qualifiers, arrays or variables.");
            }
        }

        static uint Next(BtfType type) => type switch
        {
            BtfReference { ReferenceKind: not BtfKind.Ptr } r => r.Type,
            BtfArray a => a.ElementType,
            BtfVar v => v.Type,
            _ => 0,
        };
    }

    private static uint Word(ReadOnlySpan<byte> span, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(span.Slice(offset));
}

/// <summary>The string section of a BTF blob: NUL-terminated UTF-8 strings addressed by byte offset.</summary>
public sealed class BtfStrings
{
    private readonly byte[] _bytes;
    private readonly int _sectionOffset;
    private readonly Dictionary<uint, string> _cache = new();

    public BtfStrings(byte[] bytes, int sectionOffset = 0)
    {
        if (bytes.Length > 0 && bytes[0] != 0)
            throw new FormatException($"BTF string section at offset {sectionOffset} does not start with the empty string.");
        if (bytes.Length > 0 && bytes[bytes.Length - 1] != 0)
            throw new FormatException($"BTF string section at offset {sectionOffset} does not end with a NUL byte.");
        _bytes = bytes;
        _sectionOffset = sectionOffset;
    }

    public int Length => _bytes.Length;

    /// <summary>The string at <paramref name="offset"/>; offset 0 is the empty string even in an empty section.</summary>
    public string this[uint offset] => Get(offset, null);

    public bool TryGet(uint offset, out string value)
    {
        if (offset == 0)
        {
            value = "";
            return true;
        }
        if (offset >= _bytes.Length)
        {
            value = "";
            return false;
        }
        value = Get(offset, null);
        return true;
    }

    internal string Get(uint offset, string? context)
    {
        if (offset == 0)
            return "";
        if (offset >= _bytes.Length)
            throw new FormatException($"BTF string offset {offset}{(context is null ? "" : " in " + context)} is outside the {_bytes.Length}-byte string section at offset {_sectionOffset}.");
        if (_cache.TryGetValue(offset, out var cached))
            return cached;
        var end = Array.IndexOf(_bytes, (byte)0, (int)offset);
        var value = Encoding.UTF8.GetString(_bytes, (int)offset, end - (int)offset);
        _cache[offset] = value;
        return value;
    }
}

using System.Buffers.Binary;
using System.Text;

namespace XdpCompiler.Core.Btf;

/// <summary>Writes a <c>.BTF</c> section: header, type section, string section (string 0 is the empty string).</summary>
public static class BtfWriter
{
    public const ushort Magic = 0xeB9F;
    public const int HeaderLength = 24;

    public static byte[] Write(BtfTypeTable table, BtfStringTable strings)
    {
        var types = new List<byte>();
        foreach (var type in table.Types)
            WriteType(types, type, strings);
        var stringBytes = strings.ToArray();
        var result = new byte[HeaderLength + types.Count + stringBytes.Length];
        var span = result.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(span, Magic);
        span[2] = 1; // version
        span[3] = 0; // flags
        BinaryPrimitives.WriteUInt32LittleEndian(span.Slice(4), HeaderLength);
        BinaryPrimitives.WriteUInt32LittleEndian(span.Slice(8), 0); // type_off, relative to the end of the header
        BinaryPrimitives.WriteUInt32LittleEndian(span.Slice(12), (uint)types.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(span.Slice(16), (uint)types.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(span.Slice(20), (uint)stringBytes.Length);
        types.CopyTo(result, HeaderLength);
        stringBytes.CopyTo(result, HeaderLength + types.Count);
        return result;
    }

    private static void WriteType(List<byte> o, BtfType type, BtfStringTable s)
    {
        uint Info(int vlen, bool kindFlag = false) =>
            (uint)vlen | ((uint)type.Kind << 24) | (kindFlag ? 1u << 31 : 0);

        var name = s.Add(type.Name);
        switch (type)
        {
            case BtfInt i:
                Put(o, name, Info(0), i.Size);
                Put(o, ((uint)i.Encoding << 24) | ((uint)i.BitOffset << 16) | i.Bits);
                break;
            case BtfReference r:
                Put(o, name, Info(0), r.Type);
                break;
            case BtfArray a:
                Put(o, name, Info(0), 0);
                Put(o, a.ElementType, a.IndexType, a.Count);
                break;
            case BtfComposite c:
                var bitfields = c.Members.Any(m => m.BitfieldSize != 0);
                Put(o, name, Info(c.Members.Length, bitfields), c.Size);
                foreach (var m in c.Members)
                    Put(o, s.Add(m.Name), m.Type, bitfields ? ((uint)m.BitfieldSize << 24) | m.BitOffset : m.BitOffset);
                break;
            case BtfEnum e:
                Put(o, name, Info(e.Values.Length, e.IsSigned), e.Size);
                foreach (var v in e.Values)
                {
                    if (e.Is64)
                        Put(o, s.Add(v.Name), (uint)v.Value, (uint)((ulong)v.Value >> 32));
                    else
                        Put(o, s.Add(v.Name), (uint)v.Value);
                }
                break;
            case BtfForward f:
                Put(o, name, Info(0, f.IsUnion), 0);
                break;
            case BtfFunc f:
                Put(o, name, Info((int)f.Linkage), f.Proto);
                break;
            case BtfFuncProto p:
                Put(o, name, Info(p.Params.Length), p.ReturnType);
                foreach (var param in p.Params)
                    Put(o, s.Add(param.Name), param.Type);
                break;
            case BtfVar v:
                Put(o, name, Info(0), v.Type);
                Put(o, (uint)v.Linkage);
                break;
            case BtfDataSec d:
                Put(o, name, Info(d.Vars.Length), d.Size);
                foreach (var v in d.Vars)
                    Put(o, v.Type, v.Offset, v.Size);
                break;
            case BtfFloat f:
                Put(o, name, Info(0), f.Size);
                break;
            case BtfDeclTag t:
                Put(o, name, Info(0), t.Type);
                Put(o, unchecked((uint)t.ComponentIndex));
                break;
            default:
                throw new InvalidOperationException($"Unknown BTF type {type.GetType().Name}.");
        }
    }

    private static void Put(List<byte> o, params uint[] words)
    {
        Span<byte> buffer = stackalloc byte[4];
        foreach (var w in words)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(buffer, w);
            o.Add(buffer[0]);
            o.Add(buffer[1]);
            o.Add(buffer[2]);
            o.Add(buffer[3]);
        }
    }
}

/// <summary>A NUL-separated string table that starts with the empty string and stores each string once.</summary>
public sealed class BtfStringTable
{
    private readonly Dictionary<string, uint> _offsets = new(StringComparer.Ordinal) { [""] = 0 };
    private readonly List<byte> _bytes = new() { 0 };

    public uint Add(string value)
    {
        if (_offsets.TryGetValue(value, out var offset))
            return offset;
        offset = (uint)_bytes.Count;
        _bytes.AddRange(Encoding.UTF8.GetBytes(value));
        _bytes.Add(0);
        _offsets[value] = offset;
        return offset;
    }

    public byte[] ToArray() => _bytes.ToArray();
}

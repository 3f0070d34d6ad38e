using XdpCompiler.Core.Btf;

namespace XdpCompiler.Core.Tests.Elf;

/// <summary>BTF as text, one type per line and one member per indented line, in the style of <c>bpftool btf dump</c>.</summary>
internal static class BtfText
{
    public static string Format(BtfTypeTable table)
    {
        var text = new System.Text.StringBuilder();
        for (var i = 0; i < table.Types.Length; i++)
        {
            var type = table.Types[i];
            text.Append($"[{i + 1}] {type.Kind.ToString().ToUpperInvariant()} '{type.Name}'");
            switch (type)
            {
                case BtfInt t:
                    text.Append($" size={t.Size} bits={t.Bits} offset={t.BitOffset} encoding={t.Encoding}\n");
                    break;
                case BtfReference t:
                    text.Append($" type={t.Type}\n");
                    break;
                case BtfArray t:
                    text.Append($" element={t.ElementType} index={t.IndexType} count={t.Count}\n");
                    break;
                case BtfComposite t:
                    text.Append($" size={t.Size}\n");
                    foreach (var m in t.Members)
                        text.Append($"    '{m.Name}' type={m.Type} bit_offset={m.BitOffset}{(m.BitfieldSize != 0 ? $" bitfield={m.BitfieldSize}" : "")}\n");
                    break;
                case BtfEnum t:
                    text.Append($" size={t.Size} signed={t.IsSigned}\n");
                    foreach (var v in t.Values)
                        text.Append($"    '{v.Name}' = {v.Value}\n");
                    break;
                case BtfFunc t:
                    text.Append($" proto={t.Proto} linkage={t.Linkage}\n");
                    break;
                case BtfFuncProto t:
                    text.Append($" return={t.ReturnType}\n");
                    foreach (var p in t.Params)
                        text.Append($"    '{p.Name}' type={p.Type}\n");
                    break;
                case BtfVar t:
                    text.Append($" type={t.Type} linkage={t.Linkage}\n");
                    break;
                case BtfDataSec t:
                    text.Append($" size={t.Size}\n");
                    foreach (var v in t.Vars)
                        text.Append($"    type={v.Type} offset={v.Offset} size={v.Size}\n");
                    break;
                case BtfFloat t:
                    text.Append($" size={t.Size}\n");
                    break;
                case BtfDeclTag t:
                    text.Append($" type={t.Type} component={t.ComponentIndex}\n");
                    break;
                default:
                    text.Append('\n');
                    break;
            }
        }
        return text.ToString();
    }
}

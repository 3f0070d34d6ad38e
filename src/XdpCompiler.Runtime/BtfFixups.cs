using System.Collections.Immutable;
using XdpCompiler.Core.Btf;

namespace XdpCompiler.Runtime;

/// <summary>
/// Makes an object's BTF acceptable to the kernel the way libbpf does before BPF_BTF_LOAD. clang leaves every
/// <c>DATASEC</c> (<c>.maps</c>, <c>license</c>, …) with size 0 and its variables at offset 0, for the loader to fill
/// in from the ELF symbols; the kernel refuses such a section ("size == 0"). Only the layout's consistency matters to
/// the kernel, so an unfilled section gets its variables laid out in order, each aligned to 8 bytes, which is what
/// the symbols say for clang's output anyway.
/// </summary>
internal static class BtfFixups
{
    internal static BtfTypeTable FillDataSections(BtfTypeTable table)
    {
        if (!table.Types.Any(t => t is BtfDataSec { Size: 0, Vars.Length: > 0 }))
            return table;
        var types = table.Types.ToBuilder();
        for (var i = 0; i < types.Count; i++)
        {
            if (types[i] is not BtfDataSec { Size: 0, Vars.Length: > 0 } section)
                continue;
            var vars = ImmutableArray.CreateBuilder<BtfVarSecInfo>(section.Vars.Length);
            uint offset = 0;
            foreach (var v in section.Vars)
            {
                var size = table.SizeOf(v.Type);
                offset = (offset + 7) & ~7u;
                vars.Add(v with { Offset = offset, Size = size });
                offset += size;
            }
            types[i] = section with { Size = offset, Vars = vars.MoveToImmutable() };
        }
        return new BtfTypeTable(types.ToImmutable());
    }
}

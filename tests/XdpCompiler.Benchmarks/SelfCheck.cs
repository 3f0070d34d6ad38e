using XdpCompiler.TestKit;
using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime;

namespace XdpCompiler.Benchmarks;

/// <summary>
/// Proves a C twin still does what its C# program does before either is measured: the same programs, sections and
/// maps, then the same verdicts and output bytes on random packets, then the same map contents.
/// </summary>
internal static class SelfCheck
{
    public static void CompareShapes(string name, BpfObject ours, BpfObject clang)
    {
        static string Programs(BpfObject o) => string.Join(", ", o.Programs.Where(p => p.IsXdp).Select(p => $"{p.Name} [{p.Section}]").Order());
        static string Maps(BpfObject o) => string.Join(", ", o.Maps.Select(m => $"{m.Name}: {m.Type} key {m.KeySize} value {m.ValueSize} max {m.MaxEntries} flags {m.Flags}").Order());
        if (Programs(ours) != Programs(clang))
            throw new BenchmarkException($"{name}: the C twin's programs differ: ours {Programs(ours)}; clang's {Programs(clang)}.");
        if (Maps(ours) != Maps(clang))
            throw new BenchmarkException($"{name}: the C twin's maps differ: ours {Maps(ours)}; clang's {Maps(clang)}.");
        if (ours.License != clang.License)
            throw new BenchmarkException($"{name}: licenses differ: ours '{ours.License}', clang's '{clang.License}'.");
    }

    public static void CompareBehaviour(string name, LoadedBpfObject ours, LoadedBpfObject clang, int packetCount)
    {
        var random = new Random(RandomFrames.Seed(name));
        foreach (var program in ours.Programs.Keys.Order(StringComparer.Ordinal))
        {
            for (var i = 0; i < packetCount; i++)
            {
                var packet = RandomFrames.Next(random);
                var a = ours.Program(program).TestRun(packet);
                var b = clang.Program(program).TestRun(packet);
                if (a.ReturnValue != b.ReturnValue || !a.Packet.AsSpan().SequenceEqual(b.Packet))
                {
                    throw new BenchmarkException(
                        $"{name}/{program}: packet #{i} {Convert.ToHexString(packet)}: ours {a.Action}, clang's {b.Action}" +
                        (a.Packet.AsSpan().SequenceEqual(b.Packet) ? "" : $"; output ours {Convert.ToHexString(a.Packet)}, clang's {Convert.ToHexString(b.Packet)}"));
                }
            }
        }

        foreach (var (mapName, map) in ours.Maps)
        {
            var other = clang.Map(mapName);
            var keys = map.Keys().Select(Convert.ToHexString).ToHashSet();
            keys.UnionWith(other.Keys().Select(Convert.ToHexString));
            foreach (var key in keys.Order(StringComparer.Ordinal))
            {
                var a = map.Lookup(Convert.FromHexString(key));
                var b = other.Lookup(Convert.FromHexString(key));
                if (a is null || b is null || !a.AsSpan().SequenceEqual(b))
                {
                    throw new BenchmarkException(
                        $"{name}: map {mapName}[{key}] differs after the self-check: ours {(a is null ? "missing" : Convert.ToHexString(a))}, " +
                        $"clang's {(b is null ? "missing" : Convert.ToHexString(b))}.");
                }
            }
        }
    }
}

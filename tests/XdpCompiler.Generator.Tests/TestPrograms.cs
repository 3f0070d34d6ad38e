using Xunit;

namespace XdpCompiler.Generator.Tests;

/// <summary>The programs in Programs/: every one compiles cleanly, loads, and behaves like its .NET execution.</summary>
public static class TestPrograms
{
    /// <summary>Small programs whose code is also pinned by a golden listing.</summary>
    public static TheoryData<string> Listed => new()
    {
        "PassAll", "DropUdpAtomic", "PortFilter", "Arithmetic", "ContextFields", "ProtocolBytes",
    };

    /// <summary>Programs that stress integer semantics, control flow, register pressure, packet writes and map counters.</summary>
    public static TheoryData<string> Stress => new()
    {
        "IntTypes", "SignExtension", "WrapOverflow", "VariableShifts", "SignedCompares", "WideConstants", "Ternaries",
        "LogicChains", "NestedIfs", "SpillAcrossCall", "ManySpills", "PacketRewrite", "MapByPacketByte", "IncDec",
        "ByteSwaps", "PointerIndexing", "ElevenLive", "Helpers", "Loops", "Switches", "SignedDivision", "StackStructs", "Atomics", "HelperCalls", "Generics", "Unrolled", "Globals", "MapKinds", "Checksums", "Tracing", "DevMapRedirect", "UnsafeAccess", "StructParameters", "Subprograms",
        "LruMaps", "LpmRoutes", "TailCalls", "RingEvents", "MapZoo", "UdpEcho", "SwapFields", "Divisions", "MinMax", "BitOps",
    };

    // Programs/FibRouter.cs and Programs/SectionKinds.cs are not in these sets: a route lookup answers from the host's
    // routing table (MapTypesTests builds a namespace for it), and devmap/cpumap programs run on map entries, not on
    // test packets. MapTypesTests covers both.

    public static TheoryData<string> All
    {
        get
        {
            var all = new TheoryData<string>();
            foreach (var set in new[] { Listed, Stress })
            {
                foreach (var row in set)
                    all.Add(row);
            }
            return all;
        }
    }
}

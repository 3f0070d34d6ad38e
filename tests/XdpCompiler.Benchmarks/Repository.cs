using System.Reflection;

namespace XdpCompiler.Benchmarks;

internal static class Repository
{
    /// <summary>The checkout the benchmark was built from (recorded at build time), or the one around the working directory.</summary>
    public static string Root()
    {
        var recorded = typeof(Bench).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "XdpRepoRoot")?.Value;
        if (recorded is not null && File.Exists(Path.Combine(recorded, "XdpCompiler.sln")))
            return recorded;
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "XdpCompiler.sln")))
                return dir.FullName;
        }
        throw new BenchmarkException("Cannot find the repository (XdpCompiler.sln); run from inside the checkout.");
    }
}

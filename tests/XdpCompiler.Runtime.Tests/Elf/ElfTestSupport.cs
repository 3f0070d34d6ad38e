using System.Runtime.CompilerServices;
using XdpCompiler.TestKit;

namespace XdpCompiler.Runtime.Tests.Elf;

/// <summary>Compiles the C sources in <c>TestData/</c> with clang-19, the way its README says.</summary>
internal static class Clang
{
    public const string Tool = "clang-19";

    public static string TestData([CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "TestData"));

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<byte[]>> Compiled = new();

    /// <summary>The object of <c>TestData/<paramref name="name"/>.c</c>, compiled once per test run.</summary>
    public static byte[] Object(string name) => Compiled.GetOrAdd(name, n => new Lazy<byte[]>(() =>
    {
        using var dir = new TempDirectory();
        return File.ReadAllBytes(Compile(n, dir.Path));
    })).Value;

    /// <summary>Compiles <c>TestData/<paramref name="name"/>.c</c> into <paramref name="directory"/> and returns the object's path.</summary>
    public static string Compile(string name, string directory)
    {
        var output = Path.Combine(directory, name + ".o");
        // linux/bpf.h includes asm/types.h, which lives under the host's multiarch directory.
        var multiarch = Directory.GetDirectories("/usr/include", "*-linux-gnu").Where(d => Directory.Exists(Path.Combine(d, "asm")));
        Tools.Run(Tool, ["-O2", "-g", "-target", "bpf", "-mcpu=v3", .. multiarch.Select(d => "-I" + d), "-c", Path.Combine(TestData(), name + ".c"), "-o", output]);
        return output;
    }
}

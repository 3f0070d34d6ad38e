using System.Text.RegularExpressions;
using XdpCompiler.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace XdpCompiler.Package.Tests;

/// <summary>
/// What a user does: packs this checkout's XdpCompiler package into a folder feed, adds it to a fresh console project
/// with `dotnet add package`, builds, loads the written object with bpftool and through the generated skeleton, then
/// breaks the XDP method and expects the compiler's error at its file and line. Everything (feed, project, NuGet package
/// folder, artifacts) lives under one temp folder, so nothing is cached across runs or shared with other builds.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class PackageEndToEndTests : IDisposable
{
    private const string Version = "0.1.0-dev";

    private readonly DotnetSandbox sandbox;
    private readonly string root;
    private readonly string feed;
    private readonly string project;

    public PackageEndToEndTests(ITestOutputHelper output)
    {
        sandbox = new DotnetSandbox("xdp-pkg-e2e", output.WriteLine);
        root = sandbox.Root;
        feed = sandbox.Folder("feed");
        project = sandbox.Folder("app");
    }

    public void Dispose() => sandbox.Dispose();

    private static string RepoRoot => DotnetSandbox.RepoRoot;

    private string OutputFolder => Path.Combine(project, "bin", "Debug", "net10.0");

    private const string FilterSource = """
        using XdpCompiler;

        namespace PackageUser;

        public static unsafe partial class Filter
        {
            [Map] public static readonly PerCpuArray<ulong> Counters = new(maxEntries: 1);

            [XdpProgram("xdp_count")]
            public static XdpAction Count(XdpContext ctx)
            {
                ulong* counter = Counters.Lookup(0);
                if (counter != null)
                    (*counter)++;
                return XdpAction.Pass;
            }
        }
        """;

    private const string ProgramSource = """
        using XdpCompiler.Runtime;
        using PackageUser;

        if (args is ["load"])
        {
            using var loaded = Filter.Load();
            var result = loaded.Count.TestRun(new byte[64]);
            Console.WriteLine($"loaded {loaded.Count.Name}: {result.Action}, count {loaded.Counters.Sum(0)}");
        }
        else
        {
            Console.WriteLine($"built {Filter.BpfObjectName}");
        }
        """;

    [KernelToolFact("dotnet", "bpftool")]
    public void PackageFromAFolderFeedBuildsLoadsAndReportsErrors()
    {
        // 1. The package, built from this checkout into its own artifacts folder.
        Dotnet(RepoRoot, "pack", Path.Combine(RepoRoot, "nuget", "XdpCompiler.Package.csproj"), "-c", "Release", "-o", feed,
            "--artifacts-path", Path.Combine(root, "artifacts"), "--disable-build-servers", "-nodeReuse:false", "-nologo", "-v:m");
        var package = Path.Combine(feed, $"XdpCompiler.{Version}.nupkg");
        Assert.True(File.Exists(package), $"dotnet pack wrote no {package}");
        AssertLayout(package);

        // Deterministic: packing the same build again gives the same bytes.
        var again = Path.Combine(root, "feed-again");
        Dotnet(RepoRoot, "pack", Path.Combine(RepoRoot, "nuget", "XdpCompiler.Package.csproj"), "-c", "Release", "-o", again, "--no-build",
            "--artifacts-path", Path.Combine(root, "artifacts"), "--disable-build-servers", "-nodeReuse:false", "-nologo", "-v:m");
        Assert.True(File.ReadAllBytes(package).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(again, Path.GetFileName(package)))),
            "packing the same build twice gave different .nupkg bytes");

        // 2. A fresh console project; the folder feed comes on top of the machine's configured sources.
        File.WriteAllText(Path.Combine(project, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="xdpcompiler-test-feed" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(project, "App.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <AllowUnsafeBlocks>true</AllowUnsafeBlocks>
              </PropertyGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(project, "Filter.cs"), FilterSource);
        File.WriteAllText(Path.Combine(project, "Program.cs"), ProgramSource);
        Dotnet(project, "add", "package", "XdpCompiler", "--version", Version);
        Assert.Contains($"Include=\"XdpCompiler\" Version=\"{Version}\"", File.ReadAllText(Path.Combine(project, "App.csproj")));

        // The package brings the runtime's LibObjectFile with it, and none of the compiler's Roslyn.
        var assets = File.ReadAllText(Path.Combine(project, "obj", "project.assets.json"));
        Assert.Contains("\"LibObjectFile/2.3.1\"", assets);
        Assert.DoesNotContain("Microsoft.CodeAnalysis", assets);

        // 3. Build: the generator compiles Filter, the package's targets write its object.
        Build(expectSuccess: true);
        var objectFile = Path.Combine(OutputFolder, "bpf", "Filter.bpf.o");
        Assert.True(File.Exists(objectFile), $"the build wrote no {objectFile}");

        // 4. The object is a real one: bpftool (libbpf) loads it, creating its map, and pins the program.
        using (var bpffs = new BpfFsDirectory())
        {
            var pins = bpffs.Combine("progs");
            Tools.Run("bpftool", "prog", "loadall", objectFile, pins);
            Assert.True(File.Exists(Path.Combine(pins, "xdp_count")), $"bpftool pinned no xdp_count under {pins}");
        }

        // 5. The app loads it through the generated skeleton (the runtime from lib/net10.0 and LibObjectFile).
        var run = Dotnet(project, "exec", Path.Combine(OutputFolder, "App.dll"), "load");
        Assert.Contains("loaded xdp_count: Pass, count 1", run);

        // 6. C# the compiler rejects: the build fails with XDP0002 at this file and line.
        var lines = FilterSource.Split('\n').ToList();
        var at = lines.FindIndex(l => l.Contains("ulong* counter", StringComparison.Ordinal));
        lines.Insert(at, "        var o = new object();");
        var filterPath = Path.Combine(project, "Filter.cs");
        File.WriteAllText(filterPath, string.Join('\n', lines));
        var failed = Build(expectSuccess: false);
        var error = Regex.Match(failed, @"^[ \t]*(?<file>[^\s(][^(\r\n]*)\((?<line>\d+),(?<column>\d+)\): error XDP0002:", RegexOptions.Multiline);
        Assert.True(error.Success, $"no `error XDP0002` in the build output:\n{failed}");
        Assert.Equal(filterPath, error.Groups["file"].Value);
        Assert.Equal(at + 1, int.Parse(error.Groups["line"].Value)); // the inserted line, 1-based
    }

    private static void AssertLayout(string package)
    {
        using var zip = System.IO.Compression.ZipFile.OpenRead(package);
        var files = zip.Entries.Select(e => e.FullName)
            .Where(n => !n.StartsWith("_rels/", StringComparison.Ordinal) && !n.StartsWith("package/", StringComparison.Ordinal)
                && n != "[Content_Types].xml" && n != "XdpCompiler.nuspec")
            .Order(StringComparer.Ordinal);
        string[] expected =
        [
            "README.md",
            "analyzers/dotnet/cs/XdpCompiler.Core.dll",
            "analyzers/dotnet/cs/XdpCompiler.Generators.dll",
            "build/XdpCompiler.props",
            "build/XdpCompiler.targets",
            "buildTransitive/XdpCompiler.props",
            "buildTransitive/XdpCompiler.targets",
            "lib/net10.0/XdpCompiler.Core.dll",
            "lib/net10.0/XdpCompiler.Runtime.dll",
            "lib/net10.0/XdpCompiler.dll",
            "lib/net10.0/XdpCompiler.xml",
            "lib/net8.0/XdpCompiler.dll",
            "lib/net8.0/XdpCompiler.xml",
            "lib/netstandard2.0/XdpCompiler.dll",
            "lib/netstandard2.0/XdpCompiler.xml",
            "tasks/netstandard2.0/XdpCompiler.Build.dll",
        ];
        Assert.Equal(expected, files);
    }

    private string Build(bool expectSuccess) =>
        Dotnet(project, expectSuccess, "build", "--disable-build-servers", "-nodeReuse:false", "-nologo", "-v:m");

    private string Dotnet(string directory, params string[] arguments) => Dotnet(directory, true, arguments);

    // The user's project gets a private package folder: the package (and what it pulls in) is restored fresh, never
    // from an earlier run. Packing the repo keeps the machine's folder, which already holds Roslyn and the rest.
    private string Dotnet(string directory, bool expectSuccess, params string[] arguments) =>
        sandbox.Run(directory, arguments, expectSuccess,
            directory == project ? new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(root, "packages") } : null);
}

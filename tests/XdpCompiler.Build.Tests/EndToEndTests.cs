using System.Text;
using XdpCompiler.TestKit;
using Xunit;
using Xunit.Abstractions;
using static XdpCompiler.Build.Tests.TestAssemblies;

namespace XdpCompiler.Build.Tests;

/// <summary>
/// Builds a throwaway console project the way a project of this repository consumes XdpCompiler (one Import line), with
/// a hand-written XdpObject attribute standing in for the generator. Everything it builds, including this checkout's
/// src/XdpCompiler and src/XdpCompiler.Build, goes under its own temp folder, so it never collides with other builds.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class EndToEndTests : IDisposable
{
    private readonly DotnetSandbox sandbox;
    private readonly string project;

    public EndToEndTests(ITestOutputHelper output)
    {
        sandbox = new DotnetSandbox("xdp-build-e2e", output.WriteLine);
        project = sandbox.Folder("app");
    }

    public void Dispose() => sandbox.Dispose();

    private static string RepoRoot => DotnetSandbox.RepoRoot;

    private string OutputFolder => Path.Combine(project, "bin", "Debug", "net10.0");

    private string ObjectFile(string name) => Path.Combine(OutputFolder, "bpf", name + ".bpf.o");

    [Fact]
    public void DotnetBuildWritesUpdatesAndRemovesObjectFiles()
    {
        // Ordered so the app compiles only three times: each compile is several seconds on a busy two-core machine.
        var foo = Elf(Encoding.ASCII.GetBytes("\u0002\u0001\u0001 not a real object, just bytes to carry through"));
        var bar = Elf(1, 2, 3);
        WriteProject(Attribute("Foo", foo));

        // 1. Turned off: a fresh build writes nothing.
        Build("-p:XdpWriteObjects=false");
        Assert.True(File.Exists(Path.Combine(OutputFolder, "App.dll")));
        Assert.False(Directory.Exists(Path.Combine(OutputFolder, "bpf")));

        // 2. On (the default): the file appears with exactly the attribute's bytes.
        Build();
        Assert.Equal(foo, File.ReadAllBytes(ObjectFile("Foo")));

        // 3. Nothing changed: nothing is rewritten.
        var stamp = new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(ObjectFile("Foo"), stamp);
        Build();
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(ObjectFile("Foo")));

        // 4. The assembly changed (a new object) but Foo did not: Bar is written, Foo keeps its timestamp.
        WriteProject(Attribute("Foo", foo) + "\n" + Attribute("Bar", bar));
        Build();
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(ObjectFile("Foo")));
        Assert.Equal(foo, File.ReadAllBytes(ObjectFile("Foo")));
        Assert.Equal(bar, File.ReadAllBytes(ObjectFile("Bar")));

        // 5. Publishing carries the objects into bpf/ of the publish folder.
        var publish = Path.Combine(sandbox.Root, "publish");
        Dotnet("publish", "--no-build", "-c", "Debug", "-o", publish);
        Assert.Equal(foo, File.ReadAllBytes(Path.Combine(publish, "bpf", "Foo.bpf.o")));
        Assert.Equal(bar, File.ReadAllBytes(Path.Combine(publish, "bpf", "Bar.bpf.o")));

        // 6. Foo is gone from the assembly: its file goes too, Bar's stays.
        WriteProject(Attribute("Bar", bar));
        Build();
        Assert.False(File.Exists(ObjectFile("Foo")));
        Assert.Equal(bar, File.ReadAllBytes(ObjectFile("Bar")));
    }

    private void WriteProject(string attributes)
    {
        // UseArtifactsOutput=false keeps this project in bin/ and obj/ beside it while the artifacts path passed on the
        // command line isolates the referenced repo projects.
        File.WriteAllText(Path.Combine(sandbox.Root, "Directory.Build.props"), """
            <Project>
              <PropertyGroup>
                <UseArtifactsOutput>false</UseArtifactsOutput>
              </PropertyGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(project, "App.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <ProjectReference Include="{Path.Combine(RepoRoot, "src", "XdpCompiler", "XdpCompiler.csproj")}" />
              </ItemGroup>
              <Import Project="{Path.Combine(RepoRoot, "src", "XdpCompiler.Build", "InRepo.targets")}" />
            </Project>
            """);
        File.WriteAllText(Path.Combine(project, "Program.cs"), $"""
            {attributes}
            Console.WriteLine("hello");
            """);
    }

    private void Build(params string[] extra) => Dotnet(new[] { "build" }.Concat(extra).ToArray());

    // Own artifacts for the repo projects it references, so it never collides with the outer build.
    private void Dotnet(params string[] arguments) => sandbox.Run(project,
        [.. arguments, "--artifacts-path", Path.Combine(sandbox.Root, "artifacts"), "--disable-build-servers", "-nologo", "-v:m"]);
}

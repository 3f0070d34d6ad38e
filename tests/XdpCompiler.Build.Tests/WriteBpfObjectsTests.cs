using System.Collections;
using Microsoft.Build.Framework;
using Xunit;
using static XdpCompiler.Build.Tests.TestAssemblies;

namespace XdpCompiler.Build.Tests;

public sealed class WriteBpfObjectsTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), $"xdp-task-{Environment.ProcessId}-{Guid.NewGuid():N}");
    private readonly RecordingEngine engine = new();

    public WriteBpfObjectsTests() => Directory.CreateDirectory(root);

    public void Dispose() => Directory.Delete(root, recursive: true);

    private WriteBpfObjects Task(string assemblyPath) => new()
    {
        BuildEngine = engine,
        AssemblyPath = assemblyPath,
        OutputDirectory = Path.Combine(root, "bpf"),
        ListFile = Path.Combine(root, "obj", "list.txt"),
    };

    [Fact]
    public void WritesObjectsAndReportsThemAsItems()
    {
        var assembly = Path.Combine(root, "User.dll");
        File.WriteAllBytes(assembly, Compile(Attribute("Foo", Elf(1))));
        var task = Task(assembly);

        Assert.True(task.Execute());

        Assert.Empty(engine.Errors);
        var item = Assert.Single(task.Objects);
        Assert.Equal(Path.Combine(root, "bpf", "Foo.bpf.o"), item.ItemSpec);
        Assert.Equal("Foo", item.GetMetadata("ObjectName"));
        Assert.Equal("true", item.GetMetadata("Written"));

        var again = Task(assembly);
        Assert.True(again.Execute());
        Assert.Equal("false", Assert.Single(again.Objects).GetMetadata("Written"));
    }

    [Fact]
    public void ABadAttributeIsAnErrorWithItsCodeAndWritesNothing()
    {
        var assembly = Path.Combine(root, "User.dll");
        File.WriteAllBytes(assembly, Compile($"{Attribute("Foo", Elf(1))}\n{Attribute("Bar", "%%%")}"));
        var task = Task(assembly);

        Assert.False(task.Execute());

        var error = Assert.Single(engine.Errors);
        Assert.Equal("XDP9001", error.Code);
        Assert.Equal(assembly, error.File);
        Assert.Contains("'Bar'", error.Message);
        Assert.Contains("User.dll", error.Message);
        Assert.False(Directory.Exists(Path.Combine(root, "bpf")));
    }

    [Fact]
    public void AMissingAssemblyIsAnErrorNotACrash()
    {
        var task = Task(Path.Combine(root, "Missing.dll"));

        Assert.False(task.Execute());

        Assert.Equal("XDP9006", Assert.Single(engine.Errors).Code);
    }

    private sealed class RecordingEngine : IBuildEngine
    {
        public List<BuildErrorEventArgs> Errors { get; } = new();

        public bool ContinueOnError => false;

        public int LineNumberOfTaskNode => 0;

        public int ColumnNumberOfTaskNode => 0;

        public string ProjectFileOfTaskNode => "test.proj";

        public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs) =>
            throw new NotSupportedException();

        public void LogCustomEvent(CustomBuildEventArgs e)
        {
        }

        public void LogErrorEvent(BuildErrorEventArgs e) => Errors.Add(e);

        public void LogMessageEvent(BuildMessageEventArgs e)
        {
        }

        public void LogWarningEvent(BuildWarningEventArgs e)
        {
        }
    }
}

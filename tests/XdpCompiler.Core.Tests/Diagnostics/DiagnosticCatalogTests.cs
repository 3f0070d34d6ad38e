using System.Text.RegularExpressions;
using XdpCompiler.Core.Diagnostics;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Core.Tests.Diagnostics;

/// <summary>The catalogue and docs/diagnostics.md stay one: every id documented, with an example where code can trigger it.</summary>
public sealed class DiagnosticCatalogTests
{
    private static readonly string Docs = File.ReadAllText(Path.Combine(DotnetSandbox.RepoRoot, "docs", "diagnostics.md"));

    public static TheoryData<string> Ids
    {
        get
        {
            var ids = new TheoryData<string>();
            foreach (var entry in DiagnosticCatalog.All)
                ids.Add(entry.Id);
            return ids;
        }
    }

    [Fact]
    public void IdsAreUniqueAndInTheirCategoryRange()
    {
        Assert.Equal(DiagnosticCatalog.All.Count, DiagnosticCatalog.All.Select(d => d.Id).Distinct().Count());
        foreach (var entry in DiagnosticCatalog.All)
        {
            Assert.Matches(@"^XDP\d{4}$", entry.Id);
            var number = int.Parse(entry.Id[3..]);
            Assert.True(number is >= 1 and <= 299 or >= 900 and <= 999, $"{entry.Id} is outside the documented ranges");
            Assert.False(string.IsNullOrWhiteSpace(entry.Title));
            Assert.Contains("{0}", entry.MessageFormat);
        }
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void EveryIdHasItsSectionInTheDocs(string id)
    {
        var section = Section(id);
        Assert.True(section is not null, $"docs/diagnostics.md has no '## {id}' section");
        Assert.Contains("Fix", section);
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void FrontendIdsShowCodeThatTriggersThem(string id)
    {
        // Backend limits and internal errors have no few-line trigger; every frontend (C#) rule has one.
        if (int.Parse(id[3..]) >= 100)
            return;
        var section = Section(id)!;
        var example = Regex.Match(section, "```csharp\n(?<code>.*?)```", RegexOptions.Singleline);
        Assert.True(example.Success, $"the {id} section has no C# example");
        Assert.Contains(id, example.Groups["code"].Value);
    }

    private static string? Section(string id)
    {
        var match = Regex.Match(Docs.Replace("\r\n", "\n"), $@"^## {id}\b.*?(?=^## |\z)", RegexOptions.Singleline | RegexOptions.Multiline);
        return match.Success ? match.Value : null;
    }
}

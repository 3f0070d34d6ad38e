using XdpCompiler.TestKit;
using Xunit;
using static XdpCompiler.Cli.Tests.CliHarness;

namespace XdpCompiler.Cli.Tests;

/// <summary>Commands and errors that need no kernel.</summary>
public sealed class OfflineTests
{
    [Fact]
    public void Disasm_lists_instructions_with_their_source_lines()
    {
        using var temp = new TempDirectory();
        var path = Write(temp, SampleObjects.Counter());

        var result = Run("disasm", path);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Errors);
        Assert.Contains("xdp_count (section xdp, 11 instructions, source Counter.cs)", result.Output);
        Assert.Contains("; Counter.cs:10: uint key = 0;", result.Output);
        Assert.Contains("; Counter.cs:13: return XdpAction.Pass;", result.Output);
        Assert.Contains("exit", result.Output);
        Assert.Contains("counters", result.Output); // the map relocation
        // Each source line precedes the instructions it compiled to.
        Assert.True(result.Output.IndexOf("uint key = 0;", StringComparison.Ordinal) < result.Output.IndexOf("call 0x1", StringComparison.Ordinal), result.Output);
    }

    [Fact]
    public void Disasm_no_source_leaves_out_source_lines()
    {
        using var temp = new TempDirectory();
        var path = Write(temp, SampleObjects.Counter());

        var result = Run("disasm", path, "--no-source");

        Assert.Equal(0, result.ExitCode);
        Assert.DoesNotContain("uint key = 0;", result.Output);
        Assert.Contains("exit", result.Output);
    }

    [Fact]
    public void Disasm_filters_by_section_and_reports_a_missing_one()
    {
        using var temp = new TempDirectory();
        var path = Write(temp, SampleObjects.WithPrograms(SampleObjects.PassWithLine("xdp_a", "xdp"), SampleObjects.PassWithLine("xdp_b", "xdp/b")));

        var only = Run("disasm", path, "--section", "xdp/b");
        Assert.Equal(0, only.ExitCode);
        Assert.Contains("xdp_b", only.Output);
        Assert.DoesNotContain("xdp_a (", only.Output);

        var missing = Run("disasm", path, "--section", "tc");
        Assert.Equal(1, missing.ExitCode);
        missing.AssertOneLineError();
        Assert.Contains("no program with section 'tc'", missing.Errors);
        Assert.Contains("xdp_a (xdp)", missing.Errors);
    }

    [Fact]
    public void Disasm_json_parses()
    {
        using var temp = new TempDirectory();
        var path = Write(temp, SampleObjects.Counter());

        var result = Run("disasm", path, "--json");

        Assert.Equal(0, result.ExitCode);
        using var json = result.Json();
        var program = json.RootElement.GetProperty("programs")[0];
        Assert.Equal("xdp_count", program.GetProperty("name").GetString());
        Assert.Equal(11, program.GetProperty("instructions").GetInt32());
        Assert.Contains("exit", program.GetProperty("listing").GetString());
        var line = program.GetProperty("lines")[1];
        Assert.Equal(3, line.GetProperty("instruction").GetInt32());
        Assert.Equal("Counter.cs", line.GetProperty("file").GetString());
        Assert.Equal(11, line.GetProperty("line").GetInt32());
    }

    [Theory]
    [InlineData("")]
    [InlineData("frobnicate")]
    [InlineData("disasm")]
    [InlineData("disasm|a.o|b.o")]
    [InlineData("disasm|a.o|--bogus")]
    [InlineData("disasm|a.o|--section")]
    [InlineData("run|a.o")]
    [InlineData("run|a.o|--packet|zz")]
    [InlineData("run|a.o|--packet|00|--repeat|-3")]
    [InlineData("attach|a.o|--interface|lo")]
    [InlineData("attach|a.o|--interface|lo|--pin|/sys/fs/bpf/x|--mode|turbo")]
    [InlineData("detach")]
    [InlineData("detach|--pin|/sys/fs/bpf/x|--interface|lo")]
    [InlineData("map")]
    [InlineData("map|show")]
    [InlineData("map|dump")]
    public void Usage_errors_exit_2_with_one_line(string commandLine)
    {
        var args = commandLine.Length == 0 ? [] : commandLine.Split('|');
        var result = Run(args);

        Assert.Equal(2, result.ExitCode);
        result.AssertOneLineError();
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("disasm --help")]
    [InlineData("verify --help")]
    [InlineData("run -h")]
    [InlineData("attach --help")]
    [InlineData("detach --help")]
    [InlineData("list --help")]
    [InlineData("map --help")]
    [InlineData("map dump --help")]
    public void Help_prints_usage_and_succeeds(string command)
    {
        var result = Run(command.Split(' '));

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Usage: xdpc", result.Output);
        Assert.Equal("", result.Errors);
    }

    [Fact]
    public void A_missing_file_is_one_line_and_exit_1()
    {
        var result = Run("disasm", "/nonexistent/prog.o");

        Assert.Equal(1, result.ExitCode);
        result.AssertOneLineError();
        Assert.Contains("/nonexistent/prog.o", result.Errors);
    }

    [Fact]
    public void A_file_that_is_not_an_object_is_one_line_and_exit_1()
    {
        using var temp = new TempDirectory();
        var path = temp.File("junk.o");
        File.WriteAllText(path, "not an ELF file");

        var result = Run("disasm", path);

        Assert.Equal(1, result.ExitCode);
        result.AssertOneLineError();
    }

    [Fact]
    public void Packet_accepts_hex_with_separators_and_files()
    {
        using var temp = new TempDirectory();
        var file = temp.File("packet.bin");
        File.WriteAllBytes(file, Convert.FromHexString(PacketHex));

        Assert.Equal(Convert.FromHexString(PacketHex), RunCommand.Packet(PacketHex));
        Assert.Equal(Convert.FromHexString(PacketHex), RunCommand.Packet("@" + file));
        Assert.Equal(14, RunCommand.Packet("02:00:00:00:00:01 02-00-00-00-00-02 0800").Length);
        Assert.Throws<UsageException>(() => RunCommand.Packet("0200"));
    }

    [Fact]
    public void Hex_bytes_read_the_same_for_every_command()
    {
        Assert.Equal(new byte[] { 0x0a, 0x00, 0x00, 0x01 }, HexBytes.Parse("0x0a 00:00-01", "map update", "--key"));
        Assert.Empty(HexBytes.Parse("", "run", "--metadata", allowEmpty: true));
        var odd = Assert.Throws<UsageException>(() => HexBytes.Parse("abc", "map delete", "--key"));
        Assert.Equal("map delete: --key wants bytes in hex (an even number of 0-9a-f digits), not 'abc'", odd.Message);
        Assert.Throws<UsageException>(() => HexBytes.Parse("", "map update", "--value"));
        var file = Assert.Throws<UsageException>(() => HexBytes.Parse("zz", "run", "--packet", allowEmpty: true, alternative: "@FILE"));
        Assert.Contains("or @FILE", file.Message, StringComparison.Ordinal);
    }
}

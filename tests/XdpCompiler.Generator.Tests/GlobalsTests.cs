using XdpCompiler.Runtime;
using XdpCompiler.Runtime.Elf;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Generator.Tests;

/// <summary>C# static fields as eBPF global variables, and [Config] values the loader sets before load.</summary>
public sealed class GlobalsTests
{
    [Fact]
    public void StaticFieldsGoToTheirSections()
    {
        var obj = CompiledProgramTests.Compile("Globals");
        var sections = obj.DataSections.ToDictionary(s => s.Name);
        Assert.Equal(new[] { "lastLength" }, sections[".data"].Variables.Select(v => v.Name));
        Assert.Equal(7, sections[".data"].Contents[0]);
        Assert.Equal(new[] { "packets", "tally" }, sections[".bss"].Variables.Select(v => v.Name));
        Assert.Equal(new[] { "BlockedPort", "MinimumLength" }, sections[".rodata"].Variables.Select(v => v.Name));
        Assert.Equal(53, sections[".rodata"].Contents[0]);
        Assert.Equal(64, sections[".rodata"].Contents[sections[".rodata"].Variables[1].Offset]);
    }

    [KernelFact]
    public void ConfigSetAtLoadChangesWhatTheProgramDoes()
    {
        var obj = CompiledProgramTests.Compile("Globals");
        var packet = Packets.Ethernet().IPv4("198.18.0.1", "198.18.0.2").Udp(1000, 8080).Payload(40).Build();

        using (var defaults = BpfObjectLoader.Load(obj))
            Assert.Equal(XdpAction.Pass, defaults.Program("xdp_globals").TestRun(packet).Action);

        using var configured = BpfObjectLoader.Load(obj, new BpfObjectLoadOptions().WithConstant("BlockedPort", (ushort)8080));
        Assert.Equal(XdpAction.Drop, configured.Program("xdp_globals").TestRun(packet, repeat: 3).Action);
        Assert.Equal(3ul, configured.Global<ulong>("packets").Value);
        Assert.Equal((uint)packet.Length, configured.Global<uint>("lastLength").Value);
    }

    [KernelFact]
    public void RedirectThroughAFilledDevMapSlot()
    {
        var obj = CompiledProgramTests.Compile("DevMapRedirect");
        using var loaded = BpfObjectLoader.Load(obj);
        // Slot 3 → the loopback interface (index 1); the packet selects slot 3 and "redirect with Aborted fallback".
        loaded.Map("Ports").Update(BitConverter.GetBytes(3u), BitConverter.GetBytes(1u));
        var packet = new byte[64];
        packet[14] = 3;
        Assert.Equal(XdpAction.Redirect, loaded.Program("xdp_devmap_redirect").TestRun(packet).Action);
        packet[14] = 4;
        Assert.Equal(XdpAction.Aborted, loaded.Program("xdp_devmap_redirect").TestRun(packet).Action);

        var ports = new DevMap(8);
        ports.Set(3, 1);
        Assert.Equal(XdpAction.Redirect, ports.Redirect(3));
        Assert.Equal(XdpAction.Pass, ports.Redirect(4, (ulong)XdpAction.Pass));
    }
}

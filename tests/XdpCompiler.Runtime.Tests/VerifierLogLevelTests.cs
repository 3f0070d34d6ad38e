using XdpCompiler.TestKit;
using Xunit;
using static XdpCompiler.Runtime.Tests.TestPrograms;

namespace XdpCompiler.Runtime.Tests;

/// <summary>The verifier log level chosen in the load options: for rejections, and kept for accepted programs.</summary>
public sealed class VerifierLogLevelTests
{
    [KernelFact]
    public void KeepVerifierLog_AtEachLevel_KeepsWhatThatLevelWrites()
    {
        var obj = Object("levels", DropIfByte12Is8());

        using var none = BpfObjectLoader.Load(obj);
        using var basic = BpfObjectLoader.Load(obj, new BpfObjectLoadOptions { KeepVerifierLog = true });
        using var verbose = BpfObjectLoader.Load(obj, new BpfObjectLoadOptions { KeepVerifierLog = true, VerifierLogLevel = VerifierLogLevel.Verbose });
        using var stats = BpfObjectLoader.Load(obj, new BpfObjectLoadOptions { KeepVerifierLog = true, VerifierLogLevel = VerifierLogLevel.Basic | VerifierLogLevel.Stats });

        Assert.Null(none.Program("xdp_eth8").VerifierLog);
        var basicLog = basic.Program("xdp_eth8").VerifierLog!;
        Assert.Contains("processed ", basicLog); // an accepted program's level-1 log is little more than the count
        Assert.DoesNotContain("verification time", basicLog);
        // Level 2 prints every instruction with the register state, so it is much longer.
        var verboseLog = verbose.Program("xdp_eth8").VerifierLog!;
        Assert.Contains("5: (71) r5 = *(u8 *)(r2 +12)", verboseLog);
        Assert.True(verboseLog.Length > 2 * basicLog.Length, $"level 2: {verboseLog.Length} chars, level 1: {basicLog.Length}");
        Assert.Contains("verification time", stats.Program("xdp_eth8").VerifierLog!);
        Assert.Equal(XdpAction.Drop, verbose.Program("xdp_eth8").TestRun(Ipv4Frame()).Action);
    }

    [KernelFact]
    public void Rejection_AtLevel2_CarriesTheLongerLog_AndTheSameReason()
    {
        var obj = Object("rejectlevels", UncheckedPacketRead());

        var basic = Assert.Throws<BpfVerifierException>(() => BpfObjectLoader.Load(obj));
        var verbose = Assert.Throws<BpfVerifierException>(() => BpfObjectLoader.Load(obj, new BpfObjectLoadOptions { VerifierLogLevel = VerifierLogLevel.Verbose }));

        Assert.Equal(basic.InstructionIndex, verbose.InstructionIndex);
        Assert.Equal(1, verbose.InstructionIndex);
        Assert.Contains("invalid access to packet", verbose.VerifierMessage);
        Assert.True(verbose.Log.Length > basic.Log.Length, $"level 2: {verbose.Log.Length} chars, level 1: {basic.Log.Length}");
    }
}

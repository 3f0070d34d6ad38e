using XdpCompiler.Core.Btf;
using XdpCompiler.Runtime.Interop;

namespace XdpCompiler.Runtime;

/// <summary>An object's BTF loaded into the kernel (BPF_BTF_LOAD), so maps and programs can name their types.</summary>
public sealed unsafe class LoadedBtf : IDisposable
{
    private LoadedBtf(BpfFd fd, byte[] blob, string objectName)
    {
        Fd = fd;
        Blob = blob;
        ObjectName = objectName;
    }

    public BpfFd Fd { get; }

    /// <summary>The raw BTF the kernel accepted.</summary>
    public byte[] Blob { get; }

    public string ObjectName { get; }

    /// <summary>
    /// Loads raw BTF (a <c>.BTF</c> section). On failure the exception's hint carries the kernel's BTF log, captured
    /// by a second attempt with log level 1.
    /// </summary>
    public static LoadedBtf Load(byte[] blob, string objectName)
    {
        var operation = $"load BTF of object {objectName}";
        int result;
        fixed (byte* data = blob)
        {
            var address = (ulong)data;
            var attr = new BtfLoadAttr { Btf = address, BtfSize = (uint)blob.Length };
            result = BpfSyscall.Invoke(BpfCommand.BtfLoad, ref attr);
            if (result < 0 && result != -Errno.EPERM)
            {
                var first = result;
                string log;
                (result, log) = KernelLog.Capture((byte* buffer, uint size, out uint trueSize) =>
                {
                    var withLog = new BtfLoadAttr
                    {
                        Btf = address,
                        BtfSize = (uint)blob.Length,
                        BtfLogBuf = (ulong)buffer,
                        BtfLogSize = size,
                        BtfLogLevel = 1,
                    };
                    var r = BpfSyscall.Invoke(BpfCommand.BtfLoad, ref withLog);
                    trueSize = withLog.BtfLogTrueSize;
                    return r;
                });
                if (result < 0)
                {
                    var text = log.Trim();
                    throw new BpfException(BpfOperationKind.BtfLoad, operation, -first, objectName,
                        text.Length == 0 ? "The kernel refused the object's BTF and wrote no log." : "The kernel refused the object's BTF; its log:\n" + text);
                }
            }
        }
        if (result < 0)
            throw BpfErrors.Create(BpfOperationKind.BtfLoad, operation, objectName, -result);
        return new LoadedBtf(new BpfFd(result), blob, objectName);
    }

    /// <summary>Writes <paramref name="types"/> with <see cref="BtfWriter"/> (strings added first keep their offsets) and loads it.</summary>
    public static LoadedBtf Load(BtfTypeTable types, BtfStringTable strings, string objectName) =>
        Load(BtfWriter.Write(types, strings), objectName);

    public void Dispose() => Fd.Dispose();
}

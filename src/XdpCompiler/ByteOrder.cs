namespace XdpCompiler;

/// <summary>
/// Conversions between network (big-endian) and host order. The compiler lowers each to one BPF byte-swap instruction;
/// on a big-endian host they are identity functions, as in the kernel's <c>bpf_ntohs</c>.
/// </summary>
public static class ByteOrder
{
    public static ushort NetworkToHost(ushort value) => BitConverter.IsLittleEndian ? Swap(value) : value;

    public static uint NetworkToHost(uint value) => BitConverter.IsLittleEndian ? Swap(value) : value;

    public static ulong NetworkToHost(ulong value) => BitConverter.IsLittleEndian ? Swap(value) : value;

    public static ushort HostToNetwork(ushort value) => NetworkToHost(value);

    public static uint HostToNetwork(uint value) => NetworkToHost(value);

    public static ulong HostToNetwork(ulong value) => NetworkToHost(value);

    private static ushort Swap(ushort v) => (ushort)((v >> 8) | (v << 8));

    private static uint Swap(uint v) => (v >> 24) | ((v >> 8) & 0xFF00) | ((v << 8) & 0xFF0000) | (v << 24);

    private static ulong Swap(ulong v) => ((ulong)Swap((uint)v) << 32) | Swap((uint)(v >> 32));
}

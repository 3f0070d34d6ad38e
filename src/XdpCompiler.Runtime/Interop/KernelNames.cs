namespace XdpCompiler.Runtime.Interop;

internal static class KernelNames
{
    /// <summary>
    /// The kernel's object-name rules (bpf_obj_name_cpy): at most 15 characters from [A-Za-z0-9_.]. Longer names are
    /// cut and other characters become '_', as libbpf does, so any .NET name loads; errors use the full name.
    /// </summary>
    internal static unsafe void Write(string name, byte* destination)
    {
        var length = Math.Min(name.Length, BpfLimits.ObjectNameLength - 1);
        for (var i = 0; i < length; i++)
        {
            var c = name[i];
            destination[i] = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' or '.' ? (byte)c : (byte)'_';
        }
        for (var i = length; i < BpfLimits.ObjectNameLength; i++)
            destination[i] = 0;
    }

    internal static unsafe string Read(byte* source)
    {
        var span = new ReadOnlySpan<byte>(source, BpfLimits.ObjectNameLength);
        var end = span.IndexOf((byte)0);
        return System.Text.Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
    }
}

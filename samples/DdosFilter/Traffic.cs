using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace XdpCompiler.Samples.DdosFilter;

/// <summary>Counts UDP datagrams that reach the host end, by the tag their payload starts with.</summary>
internal sealed class UdpSink : IDisposable
{
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Dictionary<string, int> _byTag = new(StringComparer.Ordinal);

    public UdpSink(IPAddress address)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(address, 0));
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
        _loop = Task.Run(ReceiveLoop);
    }

    public int Port { get; }

    public int Count(string tag)
    {
        lock (_byTag)
            return _byTag.GetValueOrDefault(tag);
    }

    /// <summary>Waits until <paramref name="count"/> datagrams tagged <paramref name="tag"/> arrived, or the timeout.</summary>
    public bool WaitFor(string tag, int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Count(tag) < count)
        {
            if (DateTime.UtcNow >= deadline)
                return false;
            cancellationToken.WaitHandle.WaitOne(10);
            cancellationToken.ThrowIfCancellationRequested();
        }
        return true;
    }

    private async Task ReceiveLoop()
    {
        var buffer = new byte[2048];
        while (!_stop.IsCancellationRequested)
        {
            int received;
            try
            {
                received = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            var text = Encoding.ASCII.GetString(buffer, 0, received);
            var tag = text.Split(' ')[0];
            lock (_byTag)
                _byTag[tag] = _byTag.GetValueOrDefault(tag) + 1;
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(2));
        }
        catch (AggregateException)
        {
        }
        _stop.Dispose();
    }
}

/// <summary>Accepts TCP connections on the host end and reads each to its end.</summary>
internal sealed class TcpSink : IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _accepted;
    private int _completed;

    public TcpSink(IPAddress address)
    {
        _listener = new TcpListener(address, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _loop = Task.Run(AcceptLoop);
    }

    public int Port { get; }

    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Connections whose greeting arrived whole, up to the client's FIN.</summary>
    public int Completed => Volatile.Read(ref _completed);

    public bool WaitForCompleted(int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Completed < count)
        {
            if (DateTime.UtcNow >= deadline)
                return false;
            cancellationToken.WaitHandle.WaitOne(10);
            cancellationToken.ThrowIfCancellationRequested();
        }
        return true;
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            Interlocked.Increment(ref _accepted);
            _ = Task.Run(() => Drain(connection));
        }
    }

    private async Task Drain(Socket connection)
    {
        using (connection)
        {
            var buffer = new byte[256];
            var total = 0;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                int read;
                while ((read = await connection.ReceiveAsync(buffer.AsMemory(total), SocketFlags.None, timeout.Token)) > 0)
                    total += read;
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            if (Encoding.ASCII.GetString(buffer, 0, total) == NamespaceSender.TcpGreeting)
                Interlocked.Increment(ref _completed);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(2));
        }
        catch (AggregateException)
        {
        }
        _stop.Dispose();
    }
}

/// <summary>The namespace side: what a client (or an attacker) sends to the host end. Call it inside the namespace.</summary>
internal static class NamespaceSender
{
    public const string TcpGreeting = "hello from the namespace";

    public static void SendUdp(IPEndPoint target, string tag, int count)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        for (var i = 0; i < count; i++)
            socket.SendTo(Encoding.ASCII.GetBytes($"{tag} datagram {i}"), target);
    }

    /// <summary>Opens <paramref name="count"/> connections one after another, each sends a greeting and closes.</summary>
    /// <returns>How many connected.</returns>
    public static int ConnectTcp(IPEndPoint target, int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var connected = 0;
        for (var i = 0; i < count; i++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(timeout);
            try
            {
                socket.ConnectAsync(target, attempt.Token).AsTask().GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                continue;
            }
            connected++;
            socket.Send(Encoding.ASCII.GetBytes(TcpGreeting));
            socket.Shutdown(SocketShutdown.Send);
            // Wait for the host to close its side, so every segment of the exchange has crossed the filter.
            socket.ReceiveTimeout = (int)timeout.TotalMilliseconds;
            try
            {
                socket.Receive(new byte[16]);
            }
            catch (SocketException)
            {
            }
        }
        return connected;
    }

    /// <summary>Sends ICMP echo requests from a raw socket, one at a time, each waiting for its reply.</summary>
    /// <returns>How many were answered.</returns>
    public static int Ping(IPAddress target, int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp);
        var identifier = (ushort)(Environment.ProcessId ^ Random.Shared.Next(0x10000));
        var answered = 0;
        var buffer = new byte[1500];
        for (ushort sequence = 0; sequence < count; sequence++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            socket.SendTo(EchoRequest(identifier, sequence), new IPEndPoint(target, 0));
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline)
            {
                if (!socket.Poll(TimeSpan.FromMilliseconds(50), SelectMode.SelectRead))
                    continue;
                var received = socket.Receive(buffer);
                // A raw IPv4 socket delivers the IP header too, and every ICMP message this namespace receives.
                var headerLength = (buffer[0] & 0x0f) * 4;
                if (received < headerLength + 8 || buffer[headerLength] != 0 /* echo reply */)
                    continue;
                if (BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(headerLength + 4)) == identifier
                    && BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(headerLength + 6)) == sequence)
                {
                    answered++;
                    break;
                }
            }
        }
        return answered;
    }

    private static byte[] EchoRequest(ushort identifier, ushort sequence)
    {
        var message = new byte[8 + 32];
        message[0] = 8;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(4), identifier);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(6), sequence);
        Encoding.ASCII.GetBytes("xdp ddos filter demo echo reques").CopyTo(message, 8);
        uint sum = 0;
        for (var i = 0; i < message.Length; i += 2)
            sum += (uint)(message[i] << 8 | message[i + 1]);
        while (sum > 0xffff)
            sum = (sum & 0xffff) + (sum >> 16);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), (ushort)~sum);
        return message;
    }
}

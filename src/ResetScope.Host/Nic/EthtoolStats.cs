using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace ResetScope.Host.Nic;

/// <summary>
/// <c>ethtool -S</c> without ethtool: the SIOCETHTOOL ioctl with ETHTOOL_GSSET_INFO (how many stats),
/// ETHTOOL_GSTRINGS (their names, 32 bytes each) and ETHTOOL_GSTATS (their u64 values). For ENA these are the
/// reset counters (total_resets, wd_expired, missing_tx_cmpl, suspected_poll_starvation, …) and per-queue stats.
/// </summary>
public static partial class EthtoolStats
{
    private const uint SiocEthtool = 0x8946;
    private const uint GSsetInfo = 0x37;
    private const uint GStrings = 0x1b;
    private const uint GStats = 0x1d;
    private const int StringSetStats = 1;
    private const int NameLength = 32;

    /// <summary>The interface's counters by name, in the driver's order; an IOException with one reason when unavailable.</summary>
    public static IReadOnlyList<(string Name, ulong Value)> Read(string iface)
    {
        if (Encoding.ASCII.GetByteCount(iface) >= 16)
        {
            throw new ArgumentException($"{iface}: interface names are shorter than 16 bytes", nameof(iface));
        }

        int fd = Socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */, 0);
        if (fd < 0)
        {
            throw new IOException($"ethtool {iface}: cannot open a socket ({Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())})");
        }

        try
        {
            // struct ethtool_sset_info { u32 cmd; u32 reserved; u64 sset_mask; u32 data[]; }
            byte[] sset = new byte[16 + 4];
            BinaryPrimitives.WriteUInt32LittleEndian(sset, GSsetInfo);
            BinaryPrimitives.WriteUInt64LittleEndian(sset.AsSpan(8), 1UL << StringSetStats);
            Ioctl(fd, iface, sset);
            if ((BinaryPrimitives.ReadUInt64LittleEndian(sset.AsSpan(8)) & (1UL << StringSetStats)) == 0)
            {
                return [];
            }

            int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(sset.AsSpan(16));

            // struct ethtool_gstrings { u32 cmd; u32 string_set; u32 len; u8 data[len * 32]; }
            byte[] strings = new byte[12 + count * NameLength];
            BinaryPrimitives.WriteUInt32LittleEndian(strings, GStrings);
            BinaryPrimitives.WriteUInt32LittleEndian(strings.AsSpan(4), StringSetStats);
            BinaryPrimitives.WriteUInt32LittleEndian(strings.AsSpan(8), (uint)count);
            Ioctl(fd, iface, strings);

            // struct ethtool_stats { u32 cmd; u32 n_stats; u64 data[n_stats]; }
            byte[] stats = new byte[8 + count * 8];
            BinaryPrimitives.WriteUInt32LittleEndian(stats, GStats);
            BinaryPrimitives.WriteUInt32LittleEndian(stats.AsSpan(4), (uint)count);
            Ioctl(fd, iface, stats);

            var result = new List<(string, ulong)>(count);
            for (int i = 0; i < count; i++)
            {
                ReadOnlySpan<byte> raw = strings.AsSpan(12 + i * NameLength, NameLength);
                int nul = raw.IndexOf((byte)0);
                string name = Encoding.ASCII.GetString(nul < 0 ? raw : raw[..nul]);
                result.Add((name, BinaryPrimitives.ReadUInt64LittleEndian(stats.AsSpan(8 + i * 8))));
            }

            return result;
        }
        finally
        {
            Close(fd);
        }
    }

    /// <summary>
    /// The same list from the text <c>ethtool -S IF</c> printed (a capture, a sosreport): "name: value" lines after the
    /// "NIC statistics:" header; lines that are not one are skipped.
    /// </summary>
    public static IReadOnlyList<(string Name, ulong Value)> ParseText(string text)
    {
        var result = new List<(string, ulong)>();
        foreach (string raw in text.Split('\n'))
        {
            ReadOnlySpan<char> line = raw.AsSpan().Trim();
            int colon = line.LastIndexOf(':');
            if (colon > 0 && ulong.TryParse(line[(colon + 1)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong value))
            {
                result.Add((line[..colon].TrimEnd().ToString(), value));
            }
        }

        return result;
    }

    private static unsafe void Ioctl(int fd, string iface, byte[] data)
    {
        // struct ifreq { char ifr_name[16]; union { void *ifr_data; ... } } — 40 bytes on 64-bit.
        byte* ifreq = stackalloc byte[40];
        new Span<byte>(ifreq, 40).Clear();
        Encoding.ASCII.GetBytes(iface, new Span<byte>(ifreq, 16));
        fixed (byte* p = data)
        {
            *(byte**)(ifreq + 16) = p;
            if (IoctlNative(fd, SiocEthtool, ifreq) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new IOException($"ethtool {iface}: {Marshal.GetPInvokeErrorMessage(errno)}{(errno == 95 ? " (the driver has no statistics)" : "")}");
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static unsafe partial int IoctlNative(int fd, nuint request, byte* arg);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}

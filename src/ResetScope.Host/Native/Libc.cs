using System.Runtime.InteropServices;

namespace ResetScope.Host.Native;

/// <summary>
/// The libc calls the probes make themselves, where the framework's file API would allocate per call (a handle
/// object, normalised path strings) on paths walked every few seconds: byte paths and caller buffers only.
/// </summary>
internal static unsafe partial class Libc
{
    public const int ORdOnly = 0;
    public const int ONonBlock = 0x800;
    public const int ODirectory = 0x10000;
    public const int OCloexec = 0x80000;

    public const int EIntr = 4;
    public const int EAgain = 11;
    public const int EPipe = 32;

    public const short PollIn = 0x1;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    /// <summary><paramref name="path"/> is NUL-terminated.</summary>
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true)]
    public static partial int Open(byte* path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, ref byte buffer, nint count);

    /// <summary>linux_dirent64 records into <paramref name="buffer"/>: 0 at the end, -1 on error.</summary>
    [LibraryImport("libc", EntryPoint = "pread64", SetLastError = true)]
    public static partial nint PRead(int fd, ref byte buffer, nint count, long offset);

    public const int RLimitNoFile = 7;

    [StructLayout(LayoutKind.Sequential)]
    public struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    public static partial int GetRLimit(int resource, out RLimit limit);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, ref byte buffer, nint count);

    public const int EfdCloexec = 0x80000;
    public const int EfdNonBlock = 0x800;

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initialValue, int flags);

    [LibraryImport("libc", EntryPoint = "getdents64", SetLastError = true)]
    public static partial nint GetDents64(int fd, ref byte buffer, nint count);

    /// <summary>A timeout in whole milliseconds rounded up, as poll(2) takes it (0 for none or negative).</summary>
    public static int TimeoutMs(TimeSpan timeout) =>
        timeout <= TimeSpan.Zero ? 0 : (int)Math.Min(int.MaxValue, Math.Ceiling(timeout.TotalMilliseconds));

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(ref PollFd fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);
}

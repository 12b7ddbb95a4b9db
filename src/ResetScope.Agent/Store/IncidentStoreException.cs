namespace ResetScope.Agent.Store;

/// <summary>
/// The store cannot be used as asked, for a reason the user can act on (not a SQLite file, a newer schema, a
/// directory that is not writable, a disk that is full). The message is one line: what, where, what to do.
/// </summary>
public sealed class IncidentStoreException : Exception
{
    public IncidentStoreException(string message)
        : base(message)
    {
    }

    public IncidentStoreException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

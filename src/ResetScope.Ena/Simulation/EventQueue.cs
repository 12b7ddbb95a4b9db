namespace ResetScope.Ena.Simulation;

/// <summary>
/// A binary min-heap of pending actions ordered by (time, insertion order), so that equal times run in the
/// order they were scheduled — the basis of the model's determinism.
/// </summary>
internal sealed class EventQueue
{
    private (long Time, long Seq, Action Action)[] _heap = new (long, long, Action)[64];
    private long _seq;

    public int Count { get; private set; }

    public long PeekTime => Count == 0 ? long.MaxValue : _heap[0].Time;

    public void Push(long time, Action action)
    {
        if (Count == _heap.Length)
        {
            Array.Resize(ref _heap, _heap.Length * 2);
        }

        int i = Count++;
        var item = (time, _seq++, action);
        while (i > 0)
        {
            int parent = (i - 1) / 2;
            if (!Less(item, _heap[parent]))
            {
                break;
            }

            _heap[i] = _heap[parent];
            i = parent;
        }

        _heap[i] = item;
    }

    public (long Time, Action Action) Pop()
    {
        var top = _heap[0];
        var last = _heap[--Count];
        _heap[Count] = default;
        int i = 0;
        while (true)
        {
            int left = 2 * i + 1;
            if (left >= Count)
            {
                break;
            }

            int child = left + 1 < Count && Less(_heap[left + 1], _heap[left]) ? left + 1 : left;
            if (!Less(_heap[child], last))
            {
                break;
            }

            _heap[i] = _heap[child];
            i = child;
        }

        if (Count > 0)
        {
            _heap[i] = last;
        }

        return (top.Time, top.Action);
    }

    private static bool Less((long Time, long Seq, Action _) a, (long Time, long Seq, Action _) b)
        => a.Time < b.Time || (a.Time == b.Time && a.Seq < b.Seq);
}

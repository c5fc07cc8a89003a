/// What the event log's commit pipeline holds between transactions: the appends waiting for the
/// next one, whether the committer is running, and who waits for it to fall idle.
///
/// It does no I/O and never blocks: ``EventLog`` keeps it behind a lock and carries out what it
/// answers (start the committer, write a batch, wake the drain waiters), so the rules of the pipeline
/// are here, testable without a database.
struct CommitQueue<Item, Waiter> {
    /// What the committer does next.
    enum Next {
        /// Write these, in this order, in one transaction.
        case commit([Item])
        /// Nothing is queued: the committer stops, and these drain waiters are told.
        case idle([Waiter])
    }

    private var queued: [Item] = []
    private var committing = false
    private var idleWaiters: [Waiter] = []

    /// Appends waiting for the next transaction (not the one being written).
    var count: Int { queued.count }

    /// Queues `item` for the next transaction.
    ///
    /// - Returns: true when no committer runs: the caller must start one (and it alone was told to).
    mutating func enqueue(_ item: Item) -> Bool {
        queued.append(item)
        guard !committing else { return false }
        committing = true
        return true
    }

    /// Takes everything queued (all that arrived while the previous transaction ran), or stops the committer.
    mutating func next() -> Next {
        guard !queued.isEmpty else {
            committing = false
            defer { idleWaiters = [] }
            return .idle(idleWaiters)
        }
        let batch = queued
        // About as many will arrive during this transaction as during the last one.
        queued = []
        queued.reserveCapacity(batch.count)
        return .commit(batch)
    }

    /// Registers `waiter` to be told when everything queued so far is committed.
    ///
    /// - Returns: false when nothing is queued or being written: the caller tells `waiter` itself.
    mutating func waitForIdle(_ waiter: Waiter) -> Bool {
        guard committing else { return false }
        idleWaiters.append(waiter)
        return true
    }
}

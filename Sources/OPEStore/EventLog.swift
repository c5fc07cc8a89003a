import Dispatch
import Foundation
import GRDB
import Logging
import Metrics
import OPECore
import Synchronization

/// The durable, append-only log of everything that happens in OPE.
///
/// ``append(_:alongside:)`` returns only after the event is committed and fsynced, so whoever is
/// told about a change can rely on it surviving a power cut. Appends are committed together (group
/// commit) by one committer: while it writes and fsyncs a transaction, new appends queue; when it
/// is done it takes the whole queue as the next transaction. Batches therefore grow with the load
/// and with the time an fsync takes, and no append waits for more than the transaction in flight
/// and its own. See docs/event-log.md for the figures behind this shape.
///
/// - Important: Subscribers are called on the log's delivery queue, one batch after the other; a
///   handler must only hand the batch on (yield it to a stream, signal), never wait for the log.
public final class EventLog: Sendable {
    /// Extra rows to write in the same transaction as the event, so state and log never disagree.
    public typealias Alongside = @Sendable (Database) throws -> Void

    /// One append call waiting for its transaction.
    private struct Pending: Sendable {
        var append: EventBatchWriter.Append
        var continuation: CheckedContinuation<[Event], any Error>
    }

    private struct State {
        var queue = CommitQueue<Pending, CheckedContinuation<Void, Never>>()
        var subscribers: [UUID: @Sendable ([Event]) -> Void] = [:]
    }

    private let writer: any DatabaseWriter
    private let logger: Logger
    private let state = Mutex(State())
    /// Runs the committer: a serial queue, so batches are written and delivered in log order, off
    /// Swift's cooperative threads (an fsync blocks its thread for milliseconds), and without a
    /// thread of its own while the log is idle.
    private let committer = DispatchQueue(label: "ope.events.committer", qos: .userInitiated)
    /// Wakes appenders and calls subscribers, in commit order, while the committer already writes
    /// the next batch.
    private let deliverer = DispatchQueue(label: "ope.events.deliverer", qos: .userInitiated)
    private let committedCounter = Counter(label: "ope_events_committed_total")
    private let batchSize = Recorder(label: "ope_event_batch_size")
    private let commitTimer = Metrics.Timer(label: "ope_event_commit_duration")

    public init(database: StoreDatabase, logger: Logger = Logger(label: "ope.events")) {
        self.writer = database.writer
        self.logger = logger
    }

    /// Commits `draft` (and `alongside`'s writes, atomically with it) and returns the committed event.
    ///
    /// - Throws: the error of `alongside`, or a database error; then nothing of this event was written.
    public func append(_ draft: EventDraft, alongside: Alongside? = nil) async throws -> Event {
        // Encoding happens on the caller's thread so the committer only writes.
        try await commit(EventBatchWriter.Append(events: [EventCoding.Encoded(draft)], alongside: alongside))[0]
    }

    /// Commits several events, in order, in one transaction (with `alongside`'s writes, atomically).
    public func append(contentsOf drafts: [EventDraft], alongside: Alongside? = nil) async throws -> [Event] {
        guard !drafts.isEmpty else { return [] }
        return try await commit(EventBatchWriter.Append(events: drafts.map(EventCoding.Encoded.init), alongside: alongside))
    }

    /// Calls `handler` with every batch of events after it is committed (in log order, each batch
    /// once). Returns a token for ``unsubscribe(_:)``.
    ///
    /// `async` only so that callers written when the log was an actor need no change.
    public func subscribe(_ handler: @escaping @Sendable ([Event]) -> Void) async -> UUID {
        let id = UUID()
        state.withLock { $0.subscribers[id] = handler }
        return id
    }

    /// Stops calls to the handler of `id`; none is made once this returns.
    public func unsubscribe(_ id: UUID) async {
        _ = state.withLock { $0.subscribers.removeValue(forKey: id) }
        // A delivery may have picked the handler up just before: wait behind it.
        await withCheckedContinuation { continuation in deliverer.async { continuation.resume() } }
    }

    /// Waits until every event handed to the log so far is committed and passed to the subscribers
    /// (used at shutdown).
    public func drain() async {
        await withCheckedContinuation { continuation in
            guard !state.withLock({ $0.queue.waitForIdle(continuation) }) else { return }
            // Nothing is being written, but the last batches may still be on their way to the
            // subscribers: wait behind them.
            deliverer.async { continuation.resume() }
        }
    }

    /// Appends waiting for the next transaction; tests wait on it to know a batch has formed.
    var queuedAppends: Int { state.withLock { $0.queue.count } }

    private func commit(_ append: EventBatchWriter.Append) async throws -> [Event] {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { $0.queue.enqueue(Pending(append: append, continuation: continuation)) }
            if start { committer.async { self.commitWhileQueued() } }
        }
    }

    /// The committer: writes everything queued as one transaction, again and again, until the
    /// queue is empty.
    private func commitWhileQueued() {
        while true {
            switch state.withLock({ $0.queue.next() }) {
            case .commit(let batch):
                commit(batch)
            case .idle(let drainWaiters):
                // After the deliveries queued before them, so drained means delivered too.
                if !drainWaiters.isEmpty { deliverer.async { for waiter in drainWaiters { waiter.resume() } } }
                return
            }
        }
    }

    /// Writes `batch` in one transaction, then wakes each of its appenders and tells the subscribers.
    private func commit(_ batch: [Pending]) {
        let started = ContinuousClock.now
        let results: [Result<[Event], any Error>]
        do {
            results = try writer.write { db in try EventBatchWriter.write(batch.map(\.append), in: db) }
        } catch {
            logger.error("event batch failed to commit", metadata: ["appends": "\(batch.count)", "error": "\(error)"])
            results = Array(repeating: .failure(error), count: batch.count)
        }
        commitTimer.record(duration: ContinuousClock.now - started)
        deliverer.async { self.deliver(batch, results) }
    }

    /// Tells the subscribers about a committed batch, then wakes each of its appenders.
    private func deliver(_ batch: [Pending], _ results: [Result<[Event], any Error>]) {
        var committed: [Event] = []
        committed.reserveCapacity(batch.count)
        for case .success(let events) in results { committed += events }
        if !committed.isEmpty {
            committedCounter.increment(by: committed.count)
            batchSize.record(committed.count)
            // Before the appenders are woken, so that whoever appended finds its event already passed
            // on to the subscribers (a room's feed) when its append returns.
            let handlers = state.withLock { Array($0.subscribers.values) }
            for handler in handlers { handler(committed) }
        }
        // Resuming only schedules each appender on the cooperative threads; none comes back here.
        for (pending, result) in zip(batch, results) { pending.continuation.resume(with: result) }
    }
}

import Foundation
import GRDB
import Logging
import Metrics
import OPECore

/// The durable, append-only log of everything that happens in OPE.
///
/// ``append(_:alongside:)`` returns only after the event is committed to disk, so whoever is told
/// about a change can rely on it surviving a crash. Concurrent appends are committed together in
/// one transaction (group commit): one caller at a time leads, writing everything queued so far
/// while later callers queue up for the next batch; each waiting caller is woken exactly once,
/// either with its result or to lead the next batch. That keeps fsyncs per event low without
/// holding any event back and without a background task.
public actor EventLog {
    /// Extra rows to write in the same transaction as the event, so state and log never disagree.
    public typealias Alongside = @Sendable (Database) throws -> Void

    /// What a waiting appender is woken with.
    private enum Wake {
        case done(Result<[Event], any Error>)
        /// Nobody is writing: write the queue yourself.
        case lead
    }

    /// One append call: one event, or several committed in order.
    private final class Pending {
        let drafts: [(draft: EventDraft, payload: String)]
        let alongside: Alongside?
        /// nil while its owner leads the batch it is in (the owner is not suspended).
        var continuation: CheckedContinuation<Wake, Never>?
        var result: Result<[Event], any Error>?

        init(drafts: [(draft: EventDraft, payload: String)], alongside: Alongside?, continuation: CheckedContinuation<Wake, Never>?) {
            self.drafts = drafts
            self.alongside = alongside
            self.continuation = continuation
        }
    }

    private let writer: any DatabaseWriter
    private let logger: Logger
    private var pending: [Pending] = []
    private var flushing = false
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []
    private var subscribers: [UUID: @Sendable ([Event]) -> Void] = [:]
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
    public nonisolated func append(_ draft: EventDraft, alongside: Alongside? = nil) async throws -> Event {
        // Encoding happens on the caller's thread so the actor only sequences work.
        let payload = try EventCoding.payloadJSON(draft.payload)
        return try await enqueue([(draft, payload)], alongside: alongside)[0]
    }

    /// Commits several events, in order, in one transaction (with `alongside`'s writes, atomically).
    public nonisolated func append(contentsOf drafts: [EventDraft], alongside: Alongside? = nil) async throws -> [Event] {
        guard !drafts.isEmpty else { return [] }
        let encoded = try drafts.map { (draft: $0, payload: try EventCoding.payloadJSON($0.payload)) }
        return try await enqueue(encoded, alongside: alongside)
    }

    /// Calls `handler` with every batch of events after it is committed (in log order).
    /// Returns a token for ``unsubscribe(_:)``.
    public func subscribe(_ handler: @escaping @Sendable ([Event]) -> Void) -> UUID {
        let id = UUID()
        subscribers[id] = handler
        return id
    }

    public func unsubscribe(_ id: UUID) {
        subscribers[id] = nil
    }

    /// Waits until every event handed to the log so far is committed (used at shutdown).
    public func drain() async {
        while flushing || !pending.isEmpty {
            await withCheckedContinuation { idleWaiters.append($0) }
        }
    }

    private func enqueue(_ drafts: [(draft: EventDraft, payload: String)], alongside: Alongside?) async throws -> [Event] {
        if !flushing {
            flushing = true
            let mine = Pending(drafts: drafts, alongside: alongside, continuation: nil)
            pending.append(mine)
            return try await lead(until: mine)
        }
        let wake = await withCheckedContinuation { continuation in
            pending.append(Pending(drafts: drafts, alongside: alongside, continuation: continuation))
        }
        switch wake {
        case .done(let result):
            return try result.get()
        case .lead:
            // Our entry is still queued (its continuation was used to wake us): write it now.
            guard let mine = pending.first(where: { $0.continuation == nil && $0.result == nil }) else {
                preconditionFailure("a leader was woken without its entry in the queue")
            }
            return try await lead(until: mine)
        }
    }

    /// Writes the queue as one batch, wakes everyone in it, and hands the lead to the next in line.
    private func lead(until mine: Pending) async throws -> [Event] {
        let batch = pending
        pending = []
        // The write suspends this actor, so new appends gather into the next batch meanwhile.
        let started = ContinuousClock.now
        await write(batch)
        commitTimer.record(duration: ContinuousClock.now - started)
        var committed: [Event] = []
        for item in batch {
            if case .success(let events)? = item.result { committed += events }
            if let continuation = item.continuation {
                item.continuation = nil
                continuation.resume(returning: .done(item.result!))
            }
        }
        if !committed.isEmpty {
            committedCounter.increment(by: committed.count)
            batchSize.record(committed.count)
            for handler in subscribers.values { handler(committed) }
        }
        if let next = pending.first {
            let continuation = next.continuation!
            next.continuation = nil
            continuation.resume(returning: .lead)
        } else {
            flushing = false
            let waiters = idleWaiters
            idleWaiters = []
            for waiter in waiters { waiter.resume() }
        }
        return try mine.result!.get()
    }

    /// Writes `batch` in one transaction and stores each item's result in it.
    private func write(_ batch: [Pending]) async {
        let work = batch.map { (drafts: $0.drafts, alongside: $0.alongside) }
        let outcome: Result<[Result<[Event], any Error>], any Error>
        do {
            outcome = .success(
                try await writer.write { db in
                    let insert = try db.cachedStatement(sql: "INSERT INTO events (time, type, actor, session, payload) VALUES (?, ?, ?, ?, ?)")
                    func insertAll(_ drafts: [(draft: EventDraft, payload: String)]) throws -> [Event] {
                        try drafts.map { draft, payload in
                            try insert.execute(arguments: [draft.time.timeIntervalSince1970, draft.type.rawValue, draft.actor, draft.session, payload])
                            return draft.committed(id: db.lastInsertedRowID)
                        }
                    }
                    return work.map { item -> Result<[Event], any Error> in
                        guard let alongside = item.alongside else { return Result { try insertAll(item.drafts) } }
                        // A savepoint lets one failing append drop out without failing its batch.
                        var events: [Event] = []
                        return Result {
                            try db.inSavepoint {
                                try alongside(db)
                                events = try insertAll(item.drafts)
                                return .commit
                            }
                            return events
                        }
                    }
                })
        } catch {
            outcome = .failure(error)
        }
        switch outcome {
        case .success(let results):
            for (item, result) in zip(batch, results) { item.result = result }
        case .failure(let error):
            logger.error("event batch failed to commit", metadata: ["appends": "\(batch.count)", "error": "\(error)"])
            for item in batch { item.result = .failure(error) }
        }
    }
}

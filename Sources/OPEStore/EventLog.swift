import Foundation
import GRDB
import Logging
import OPECore

/// The durable, append-only log of everything that happens in OPE.
///
/// ``append(_:alongside:)`` returns only after the event is committed to disk, so whoever is told
/// about a change can rely on it surviving a crash. Concurrent appends are committed together in
/// one transaction (group commit): the first caller writes the batch while later callers queue up
/// for the next one, which keeps fsyncs per event low without ever holding an event back.
public actor EventLog {
    /// Extra rows to write in the same transaction as the event, so state and log never disagree.
    public typealias Alongside = @Sendable (Database) throws -> Void

    private struct Pending {
        var ticket: UInt64
        var draft: EventDraft
        var payloadJSON: String
        var alongside: Alongside?
    }

    private let writer: any DatabaseWriter
    private let logger: Logger
    private var pending: [Pending] = []
    private var results: [UInt64: Result<Event, any Error>] = [:]
    private var nextTicket: UInt64 = 0
    private var flushing = false
    private var flushWaiters: [CheckedContinuation<Void, Never>] = []
    private var subscribers: [UUID: @Sendable ([Event]) -> Void] = [:]

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
        return try await enqueue(draft, payloadJSON: payload, alongside: alongside)
    }

    /// Commits several events in order in one transaction.
    public nonisolated func append(contentsOf drafts: [EventDraft]) async throws -> [Event] {
        let encoded = try drafts.map { ($0, try EventCoding.payloadJSON($0.payload)) }
        return try await enqueueAll(encoded)
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
            if flushing {
                await withCheckedContinuation { flushWaiters.append($0) }
            } else {
                await flush()
            }
        }
    }

    private func enqueue(_ draft: EventDraft, payloadJSON: String, alongside: Alongside?) async throws -> Event {
        let ticket = nextTicket
        nextTicket += 1
        pending.append(Pending(ticket: ticket, draft: draft, payloadJSON: payloadJSON, alongside: alongside))
        try await awaitCommit(of: ticket)
        return try results.removeValue(forKey: ticket)!.get()
    }

    private func enqueueAll(_ drafts: [(EventDraft, String)]) async throws -> [Event] {
        let first = nextTicket
        for (draft, payload) in drafts {
            pending.append(Pending(ticket: nextTicket, draft: draft, payloadJSON: payload, alongside: nil))
            nextTicket += 1
        }
        let end = nextTicket
        guard end > first else { return [] }
        // All of them sit in the same batch, so the last one's commit is everyone's.
        try await awaitCommit(of: end - 1)
        return try (first..<end).map { try results.removeValue(forKey: $0)!.get() }
    }

    /// Waits until `ticket` has a result, writing batches itself whenever no one else is.
    private func awaitCommit(of ticket: UInt64) async throws {
        while results[ticket] == nil {
            if flushing {
                await withCheckedContinuation { flushWaiters.append($0) }
            } else {
                await flush()
            }
        }
    }

    private func flush() async {
        flushing = true
        let batch = pending
        pending = []
        // The write suspends this actor, so new appends gather into the next batch meanwhile.
        let outcome = await write(batch)
        for (ticket, result) in outcome { results[ticket] = result }
        flushing = false
        let waiters = flushWaiters
        flushWaiters = []
        for waiter in waiters { waiter.resume() }
        let committed = outcome.compactMap { try? $0.1.get() }
        if !committed.isEmpty {
            for handler in subscribers.values { handler(committed) }
        }
    }

    private func write(_ batch: [Pending]) async -> [(UInt64, Result<Event, any Error>)] {
        do {
            return try await writer.write { db in
                let insert = try db.cachedStatement(
                    sql: "INSERT INTO events (time, type, actor, session, payload) VALUES (?, ?, ?, ?, ?)"
                )
                var outcome: [(UInt64, Result<Event, any Error>)] = []
                outcome.reserveCapacity(batch.count)
                for item in batch {
                    let arguments: StatementArguments = [
                        item.draft.time.timeIntervalSince1970, item.draft.type.rawValue, item.draft.actor, item.draft.session,
                        item.payloadJSON,
                    ]
                    if let alongside = item.alongside {
                        // A savepoint lets one failing event drop out without failing its batch.
                        var event: Event?
                        do {
                            try db.inSavepoint {
                                try alongside(db)
                                try insert.execute(arguments: arguments)
                                event = item.draft.committed(id: db.lastInsertedRowID)
                                return .commit
                            }
                            outcome.append((item.ticket, .success(event!)))
                        } catch {
                            outcome.append((item.ticket, .failure(error)))
                        }
                    } else {
                        try insert.execute(arguments: arguments)
                        outcome.append((item.ticket, .success(item.draft.committed(id: db.lastInsertedRowID))))
                    }
                }
                return outcome
            }
        } catch {
            logger.error("event batch failed to commit", metadata: ["events": "\(batch.count)", "error": "\(error)"])
            return batch.map { ($0.ticket, .failure(error)) }
        }
    }
}

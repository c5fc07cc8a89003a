import Dispatch
import Foundation
import GRDB
import OPECore
import OPETestSupport
import Synchronization
import Testing

@testable import OPEStore

/// The group commit pipeline's contract under concurrency: ids, delivery, durability, and which
/// appends a failure takes down.
@Suite struct EventLogPipelineTests {
    struct Boom: Error {}

    @Test func concurrentAppendersAreDeliveredOnceInLogOrderAndSurviveReopening() async throws {
        let test = try TestStore()
        defer { test.remove() }
        try await test.store.database.writer.write { try $0.execute(sql: "CREATE TABLE side (writer INTEGER NOT NULL, round INTEGER NOT NULL)") }
        let delivered = Mutex<[[Event]]>([])
        let log = test.store.events
        let lastDelivered = HighestID()
        _ = await log.subscribe { batch in
            delivered.withLock { $0.append(batch) }
            lastDelivered.record(batch.last!.id)
        }
        let writers = 48
        let rounds = 12
        // Writers mix single appends, appends of up to 150 events (more than one multi-row INSERT
        // of each size) and appends with an alongside write, so batches hold every kind.
        let acknowledged = try await withThrowingTaskGroup(of: [[Event]].self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var calls: [[Event]] = []
                    for round in 0..<rounds {
                        let size = (writer * 37 + round * 11) % 151
                        let drafts = (0..<max(size, 1)).map { index in
                            EventDraft(
                                type: "test.w", actor: "w\(writer)", session: "s\(writer % 5)",
                                payload: ["round": .number(Double(round)), "i": .number(Double(index))])
                        }
                        if round % 3 == 2 {
                            calls.append(
                                try await log.append(contentsOf: drafts) { db in
                                    try db.execute(sql: "INSERT INTO side (writer, round) VALUES (?, ?)", arguments: [writer, round])
                                })
                        } else if size <= 1 {
                            calls.append([try await log.append(drafts[0])])
                        } else {
                            calls.append(try await log.append(contentsOf: drafts))
                        }
                        // Subscribers are told before an append returns.
                        let seen = lastDelivered.value
                        #expect(calls.last!.last!.id <= seen)
                    }
                    return calls
                }
            }
            return try await group.reduce(into: [[Event]]()) { $0 += $1 }
        }
        await log.drain()

        let acknowledgedEvents = acknowledged.flatMap { $0 }
        let ids = acknowledgedEvents.map(\.id)
        #expect(Set(ids).count == ids.count, "every event has an id of its own")
        for call in acknowledged {
            #expect(zip(call, call.dropFirst()).allSatisfy { $1.id == $0.id + 1 }, "one call's events are consecutive in the log")
        }
        let deliveredIDs = delivered.withLock { $0.flatMap { $0.map(\.id) } }
        #expect(zip(deliveredIDs, deliveredIDs.dropFirst()).allSatisfy { $0 < $1 }, "batches reach subscribers in log order, each once")
        #expect(Set(deliveredIDs) == Set(ids), "subscribers see exactly the acknowledged events")

        // Everything acknowledged is on disk as it was acknowledged, alongside rows included.
        try test.store.database.writer.close()
        let reopened = try Store(dataDirectory: test.folder, hasher: PasswordHasher(logN: 8, blockSize: 8, parallelism: 1))
        let stored = try await reopened.reader.events(EventFilter(), limit: ids.count + 10)
        #expect(stored.count == ids.count)
        let byID = Dictionary(uniqueKeysWithValues: stored.map { ($0.id, $0) })
        for event in acknowledgedEvents {
            let row = byID[event.id]
            #expect(row?.type == event.type && row?.actor == event.actor && row?.session == event.session && row?.payload == event.payload)
            #expect(abs((row?.time ?? .distantPast).timeIntervalSince(event.time)) < 0.001)
        }
        let sideRows = try await reopened.database.writer.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM side") }
        #expect(sideRows == writers * (rounds / 3))
    }

    @Test func appendsQueuedDuringACommitShareTheNextTransactionAndAFailingAlongsideFailsAlone() async throws {
        let test = try TestStore()
        defer { test.remove() }
        try await test.store.database.writer.write { try $0.execute(sql: "CREATE TABLE side (name TEXT NOT NULL)") }
        let log = test.store.events
        let batches = await DeliveredBatches(log)
        let gate = CommitterGate()

        async let first = log.append(EventDraft(type: "test.first")) { _ in gate.hold() }
        try await gate.waitUntilHeld()
        async let plain = log.append(EventDraft(type: "test.plain"))
        async let failing = log.append(EventDraft(type: "test.failing")) { db in
            try db.execute(sql: "INSERT INTO side (name) VALUES ('failing')")
            throw Boom()
        }
        async let withSide = log.append(EventDraft(type: "test.side")) { db in try db.execute(sql: "INSERT INTO side (name) VALUES ('side')") }
        async let several = log.append(contentsOf: [EventDraft(type: "test.several"), EventDraft(type: "test.several")])
        try await waitUntil("4 appends queued") { log.queuedAppends == 4 }
        gate.release()

        let firstEvent = try await first
        let committed = [try await plain] + [try await withSide] + (try await several)
        let failure: (any Error)?
        do {
            _ = try await failing
            failure = nil
        } catch {
            failure = error
        }
        #expect(failure is Boom)
        // One transaction for everything queued behind the first, the failed append left out of it.
        let delivered = batches.all
        #expect(delivered.map { $0.map(\.id) } == [[firstEvent.id], committed.map(\.id).sorted()])
        let stored = try await test.store.reader.events(EventFilter())
        #expect(stored.map(\.type.rawValue).sorted() == ["test.first", "test.plain", "test.several", "test.several", "test.side"])
        let sideRows = try await test.store.database.writer.read { try String.fetchAll($0, sql: "SELECT name FROM side") }
        #expect(sideRows == ["side"])
    }

    @Test func aTransactionThatCannotCommitFailsExactlyItsAppends() async throws {
        let test = try TestStore()
        defer { test.remove() }
        let log = test.store.events
        let batches = await DeliveredBatches(log)
        let gate = CommitterGate()

        async let first = log.append(EventDraft(type: "test.first")) { _ in gate.hold() }
        try await gate.waitUntilHeld()
        async let plain = log.append(EventDraft(type: "test.plain"))
        // Ends the batch's transaction behind the log's back, as SQLite does itself on a full disk.
        async let ending = log.append(EventDraft(type: "test.ending")) { db in try db.execute(sql: "ROLLBACK") }
        async let several = log.append(contentsOf: [EventDraft(type: "test.several"), EventDraft(type: "test.several")])
        try await waitUntil("3 appends queued") { log.queuedAppends == 3 }
        gate.release()

        let firstEvent = try await first
        let outcomes = [(try? await plain) != nil, (try? await ending) != nil, (try? await several) != nil]
        #expect(outcomes == [false, false, false])
        let after = try await log.append(EventDraft(type: "test.after"))
        #expect(after.id > firstEvent.id)
        let delivered = batches.all
        #expect(delivered.map { $0.map(\.type) } == [["test.first"], ["test.after"]])

        try test.store.database.writer.close()
        let reopened = try Store(dataDirectory: test.folder, hasher: PasswordHasher(logN: 8, blockSize: 8, parallelism: 1))
        #expect(try await reopened.reader.events(EventFilter()).map(\.type) == ["test.first", "test.after"])
    }

    @Test func drainReturnsOnceEverythingQueuedIsCommittedAndDelivered() async throws {
        let test = try TestStore()
        defer { test.remove() }
        let log = test.store.events
        await log.drain()  // idle: returns at once
        let delivered = Mutex(0)
        _ = await log.subscribe { batch in delivered.withLock { $0 += batch.count } }
        let gate = CommitterGate()

        async let first = log.append(EventDraft(type: "test.first")) { _ in gate.hold() }
        try await gate.waitUntilHeld()
        async let second = log.append(EventDraft(type: "test.second"))
        async let third = log.append(contentsOf: [EventDraft(type: "test.third"), EventDraft(type: "test.third")])
        try await waitUntil("2 appends queued") { log.queuedAppends == 2 }
        async let drained: Void = log.drain()
        gate.release()
        await drained
        let count = delivered.withLock { $0 }
        #expect(count == 4)
        _ = try await (first, second, third)
    }

}

/// The highest event id a subscriber has been given.
/// The batches a log delivers to its subscribers, in the order they came.
final class DeliveredBatches: Sendable {
    private let batches = Mutex<[[Event]]>([])

    init(_ log: EventLog) async {
        _ = await log.subscribe { [self] batch in batches.withLock { $0.append(batch) } }
    }

    var all: [[Event]] { batches.withLock { $0 } }
}

final class HighestID: Sendable {
    private let highest = Atomic<Int64>(0)

    var value: Int64 { highest.load(ordering: .sequentiallyConsistent) }

    func record(_ id: Int64) { highest.store(id, ordering: .sequentiallyConsistent) }
}

/// Holds the committer inside a transaction (from an `alongside` closure) until the test has
/// queued what it wants in the next batch.
final class CommitterGate: Sendable {
    private let held = Atomic<Bool>(false)
    private let semaphore = DispatchSemaphore(value: 0)

    /// Called by the committer: blocks it until ``release()`` (or a minute, so a failing test ends).
    func hold() {
        held.store(true, ordering: .sequentiallyConsistent)
        _ = semaphore.wait(timeout: .now() + 60)
    }

    func waitUntilHeld() async throws {
        try await waitUntil("the commit to be held") { self.held.load(ordering: .sequentiallyConsistent) }
    }

    func release() { semaphore.signal() }
}

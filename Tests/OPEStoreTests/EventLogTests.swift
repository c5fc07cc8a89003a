import Foundation
import GRDB
import OPECore
import OPEStore
import Synchronization
import Testing

@Suite struct EventLogTests {
    @Test func concurrentAppendsAllCommitWithUniqueIncreasingIds() async throws {
        let test = try TestStore()
        defer { test.remove() }
        let events = test.store.events
        let ids = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for writer in 0..<20 {
                group.addTask {
                    var ids: [Int64] = []
                    for index in 0..<50 {
                        let event = try await events.append(
                            EventDraft(type: .chatMessage, actor: "w\(writer)", session: "s", payload: ["i": .number(Double(index))]))
                        ids.append(event.id)
                    }
                    return ids
                }
            }
            return try await group.reduce(into: [Int64]()) { $0 += $1 }
        }
        #expect(ids.count == 1000)
        #expect(Set(ids).count == 1000)
        #expect(try await test.store.reader.count() == 1000)
        // Each writer saw its own events in the order it sent them.
        let stored = try await test.store.reader.events(EventFilter(), limit: 2000)
        for writer in 0..<20 {
            let mine = stored.filter { $0.actor == "w\(writer)" }.map { $0.payload["i"] }
            #expect(mine == (0..<50).map { JSONValue.number(Double($0)) })
        }
    }

    @Test func aFailingSideEffectDropsOnlyItsOwnEvent() async throws {
        let test = try TestStore()
        defer { test.remove() }
        let events = test.store.events
        struct Boom: Error {}
        // Sent concurrently so that all three land in one batch.
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<3 {
                group.addTask {
                    let result = try? await events.append(EventDraft(type: index == 1 ? "test.bad" : "test.good")) { _ in
                        if index == 1 { throw Boom() }
                    }
                    return (index, result != nil)
                }
            }
            return await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(outcomes == [0: true, 1: false, 2: true])
        let stored = try await test.store.reader.events(EventFilter())
        #expect(stored.map(\.type) == ["test.good", "test.good"])
    }

    @Test func readerFiltersBySessionTimeAndPosition() async throws {
        let test = try TestStore()
        defer { test.remove() }
        let base = Date(timeIntervalSince1970: 1_800_000_000)
        for index in 0..<6 {
            _ = try await test.store.events.append(
                EventDraft(time: base.addingTimeInterval(Double(index) * 60), type: .chatMessage, session: index % 2 == 0 ? "even" : "odd")
            )
        }
        let even = try await test.store.reader.events(EventFilter(session: "even"))
        #expect(even.count == 3 && even.allSatisfy { $0.session == "even" })
        let late = try await test.store.reader.events(EventFilter(since: base.addingTimeInterval(180)))
        #expect(late.count == 3)
        let after = try await test.store.reader.events(EventFilter(afterID: even[1].id))
        #expect(after.first?.id == even[1].id + 1)
    }

    @Test func subscribersSeeCommittedEventsInOrder() async throws {
        let test = try TestStore()
        defer { test.remove() }
        let seen = Mutex<[Int64]>([])
        _ = await test.store.events.subscribe { batch in seen.withLock { $0 += batch.map(\.id) } }
        var ids: [Int64] = []
        for _ in 0..<5 { ids.append(try await test.store.events.append(EventDraft(type: "test.x")).id) }
        #expect(seen.withLock { $0 } == ids)
    }
}

import Foundation
import OPECluster
import OPECore
import OPERuntime
import OPEStore
import OPETestSupport
import Synchronization
import Testing

/// The room stream between edges and a core (`Runtime.Rooms`): each edge gets the rooms it has
/// sockets on and no others, typing crosses edges, and a room closes with its last socket.
@Suite struct RoomStreamTests {
    func pair(_ cluster: ClusterRuntime, _ module: String, _ users: [String]) async throws -> String {
        for user in users { _ = try await cluster.join(user: user, module: module, leaving: nil) }
        let status = try await cluster.committedStatus(of: users[0])
        guard case .matched(let id) = status else { throw WaitFailure("\(users) were not matched in \(module): \(status)") }
        return id
    }

    /// What one edge's subscriptions delivered.
    final class Heard: Sendable {
        let events = Mutex<[Event]>([])
        let typing = Mutex<[TypingNote]>([])

        func chats(in session: String) -> [String] {
            events.withLock { $0 }.filter { $0.session == session && $0.type == .chatMessage }.compactMap { $0.decode(ChatPayload.self)?.text }
        }
    }

    func listen(_ edge: ClusterRuntime) async -> (Heard, [RuntimeSubscription]) {
        let heard = Heard()
        let events = await edge.subscribe { events in heard.events.withLock { $0 += events } }
        let typing = await edge.followTyping { note in heard.typing.withLock { $0.append(note) } }
        return (heard, [events, typing])
    }

    @Test func eachEdgeGetsTheRoomsItOpenedAndTypingCrossesToTheOtherEdge() async throws {
        try await TestCluster.run { testCluster, edgeA in
            try await testCluster.withEdge { edgeB in
                let first = try await pair(edgeA, "python-intro", ["alice", "bob"])
                let second = try await pair(edgeA, "python-intro", ["carol", "dave"])
                let (heardA, subscriptionsA) = await listen(edgeA)
                let (heardB, subscriptionsB) = await listen(edgeB)
                // alice's socket is on edge A, bob's on edge B; only edge B has a socket on the second team.
                try await edgeA.openRoom(first)
                try await edgeB.openRoom(first)
                try await edgeB.openRoom(second)

                _ = try await edgeA.chat("from alice on A", clientID: "a-1", session: first, by: "alice")
                _ = try await edgeB.chat("from bob on B", clientID: "b-1", session: first, by: "bob")
                _ = try await edgeB.chat("from carol on B", clientID: "c-1", session: second, by: "carol")
                try await waitUntil("both edges hear both messages of the first team, in one order") {
                    heardA.chats(in: first).count == 2 && heardB.chats(in: first).count == 2
                }
                try await waitUntil("edge B hears the second team") { heardB.chats(in: second) == ["from carol on B"] }
                #expect(heardA.chats(in: first) == heardB.chats(in: first))
                // Edge A has no socket on the second team: its events never came to it. (Edge B
                // heard carol's message, which was committed after everything edge A heard.)
                #expect(heardA.events.withLock { $0 }.allSatisfy { $0.session == first })

                await edgeA.typing(TypingNote(session: first, user: "alice", active: true))
                try await waitUntil("alice's typing reaches edge B") {
                    heardB.typing.withLock { $0 }.contains(TypingNote(session: first, user: "alice", active: true))
                }
                await edgeB.typing(TypingNote(session: second, user: "carol", active: true))
                await edgeB.typing(TypingNote(session: first, user: "bob", active: false))
                try await waitUntil("bob's typing reaches edge A") {
                    heardA.typing.withLock { $0 }.contains(TypingNote(session: first, user: "bob", active: false))
                }
                // Typing goes to the other edges with the room open: not back, not to A for the second team.
                #expect(heardA.typing.withLock { $0 } == [TypingNote(session: first, user: "bob", active: false)])
                #expect(heardB.typing.withLock { $0 } == [TypingNote(session: first, user: "alice", active: true)])
                for subscription in subscriptionsA + subscriptionsB { await subscription.cancel() }
            }
        }
    }

    @Test func aRoomStaysOpenUntilItsLastSocketCloses() async throws {
        try await TestCluster.run { _, edge in
            let room = try await pair(edge, "sql-joins", ["carol", "dave"])
            let marker = try await pair(edge, "sql-joins", ["erin", "frank"])
            let (heard, subscriptions) = await listen(edge)
            try await edge.openRoom(room)
            try await edge.openRoom(room)
            try await edge.openRoom(marker)

            await edge.closeRoom(room)
            _ = try await edge.chat("one socket left", clientID: "c-1", session: room, by: "carol")
            try await waitUntil("the room still open hears it") { heard.chats(in: room) == ["one socket left"] }

            await edge.closeRoom(room)
            _ = try await edge.chat("nobody here", clientID: "c-2", session: room, by: "carol")
            _ = try await edge.chat("still open", clientID: "e-1", session: marker, by: "erin")
            // The marker room's message was committed after the closed room's: once it is here,
            // the other would have been too, had the room still been open.
            try await waitUntil("the marker room hears its message") { heard.chats(in: marker) == ["still open"] }
            #expect(heard.chats(in: room) == ["one socket left"])
            for subscription in subscriptions { await subscription.cancel() }
        }
    }

    @Test func aChatMessageWithTheSameClientIDOverTheStreamIsCommittedOnce() async throws {
        try await TestCluster.run { testCluster, edge in
            let room = try await pair(edge, "sql-joins", ["carol", "dave"])
            // Many at once share the stream's requests; each gets its own answer.
            let events = try await withThrowingTaskGroup(of: Event.self) { group in
                for index in 0..<200 {
                    group.addTask { try await edge.chat("message \(index % 100)", clientID: "c-\(index % 100)", session: room, by: "carol") }
                }
                return try await group.reduce(into: [Event]()) { $0.append($1) }
            }
            #expect(Set(events.map(\.id)).count == 100)
            let stored = try await testCluster.core(1).runtime.store.reader.events(EventFilter(session: room, types: [.chatMessage]))
            #expect(stored.count == 100)
        }
    }

    @Test func onAnEdgeWithTheRoomOpenEachMessagesEventIsItsAnswerSentAgainOrNot() async throws {
        try await TestCluster.run { testCluster, edge in
            let room = try await pair(edge, "sql-joins", ["carol", "dave"])
            try await edge.openRoom(room)
            // The core sends no answer for a message whose event reached this edge: each call
            // returns with the event the edge matched, copies of one message included.
            let events = try await withThrowingTaskGroup(of: (Int, Event).self) { group in
                for index in 0..<200 {
                    group.addTask {
                        (index % 50, try await edge.chat("message \(index % 50)", clientID: "c-\(index % 50)", session: room, by: "carol"))
                    }
                }
                return try await group.reduce(into: [(Int, Event)]()) { $0.append($1) }
            }
            #expect(Set(events.map(\.1.id)).count == 50)
            #expect(events.allSatisfy { index, event in event.decode(ChatPayload.self)?.text == "message \(index)" })
            // A message sent again after its event came is answered by the core (the event went before it).
            let first = try #require(events.first { $0.0 == 7 }?.1)
            let again = try await edge.chat("message 7", clientID: "c-7", session: room, by: "carol")
            #expect(again.id == first.id)
            let stored = try await testCluster.core(1).runtime.store.reader.events(EventFilter(session: room, types: [.chatMessage]))
            #expect(stored.count == 50)
        }
    }
}

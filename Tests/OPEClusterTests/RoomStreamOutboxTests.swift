import Foundation
import OPECore
import SwiftProtobuf
import Synchronization
import Testing

@testable import OPECluster

/// A core's outbox for one edge (`RoomStream`): what it queues, and when it wakes its writer.
/// Each wake is a thread woken on the core, for every edge and every commit.
@Suite struct RoomStreamOutboxTests {
    func event(_ id: Int64, session: String?, clientID: String? = nil) -> Event {
        var payload: [String: JSONValue] = ["text": .string("hello")]
        if let clientID { payload["clientId"] = .string(clientID) }
        return Event(id: id, time: Date(timeIntervalSince1970: 1_000), type: .chatMessage, actor: "alice", session: session, payload: payload)
    }

    func stream(rooms: [String], answersInEvents: Bool = true, positionInterval: Duration = .seconds(3600)) -> RoomStream {
        let stream = RoomStream(backlog: 16, positionInterval: positionInterval)
        stream.follow(
            .with {
                $0.sessions = rooms
                $0.answersInEvents = answersInEvents
            })
        return stream
    }

    func answer(to event: Event) -> Ope_Runtime_V1_RoomChatAnswer {
        .with {
            $0.request = 1
            $0.event = RuntimeWire.message(event)
        }
    }

    @Test func aCommitOfAnotherRoomMovesThePositionAndWakesTheWriterOncePerInterval() throws {
        let stream = stream(rooms: ["mine"])
        stream.committed([RoomStream.Committed(event(1, session: "mine"))])
        #expect(stream.wakeUps.load(ordering: .relaxed) == 1)
        stream.committed([RoomStream.Committed(event(2, session: "other")), RoomStream.Committed(event(3, session: nil))])
        stream.committed([RoomStream.Committed(event(4, session: "other"))])
        // The first commit of no room of the edge's wakes the writer (the position moved); the next,
        // within the interval, does not.
        #expect(stream.wakeUps.load(ordering: .relaxed) == 2)
        let taken = try #require(stream.take())
        #expect(taken.pending.batches.map { $0.map(\.id) } == [[1]])
        #expect(taken.position == 4)

        let often = self.stream(rooms: ["mine"], positionInterval: .zero)
        for id in 1...3 { often.committed([RoomStream.Committed(event(Int64(id), session: "other"))]) }
        #expect(often.wakeUps.load(ordering: .relaxed) == 3)
    }

    @Test func anAnswerWhoseEventTheEdgeGetsWakesNobody() throws {
        let stream = stream(rooms: ["mine"])
        let first = event(1, session: "mine", clientID: "c-1")
        stream.committed([RoomStream.Committed(first)])
        // Its event is queued: the answer goes with it, on the wake the event made.
        stream.answer(answer(to: first), byEvent: true)
        #expect(stream.wakeUps.load(ordering: .relaxed) == 1)
        let taken = try #require(stream.take())
        #expect(taken.pending.answers.count == 1)

        // Its event was taken: the edge answers the message from the event; nothing is queued.
        let second = event(2, session: "mine", clientID: "c-2")
        stream.committed([RoomStream.Committed(second)])
        _ = try #require(stream.take())
        stream.answer(answer(to: second), byEvent: true)
        #expect(stream.wakeUps.load(ordering: .relaxed) == 2)
        #expect(try #require(stream.take()).pending.isEmpty)
    }

    @Test func anAnswerTheEdgeNeedsWakesTheWriter() throws {
        let stream = stream(rooms: ["mine"])
        // An event of a room the edge does not have open (a chat sent without a socket here).
        let elsewhere = event(1, session: "other", clientID: "c-1")
        stream.committed([RoomStream.Committed(elsewhere)])
        let woken = stream.wakeUps.load(ordering: .relaxed)
        stream.answer(answer(to: elsewhere), byEvent: true)
        #expect(stream.wakeUps.load(ordering: .relaxed) == woken + 1)
        #expect(try #require(stream.take()).pending.answers.count == 1)

        // Not answered by its event: an earlier copy's event, or a refusal.
        let mine = event(2, session: "mine", clientID: "c-2")
        stream.committed([RoomStream.Committed(mine)])
        _ = stream.take()
        stream.answer(answer(to: mine), byEvent: false)
        stream.answer(.with { $0.refusal = Data("{}".utf8) }, byEvent: false)
        // One wake for the first answer, one for the commit, one for each of these two answers.
        #expect(stream.wakeUps.load(ordering: .relaxed) == woken + 4)
        #expect(try #require(stream.take()).pending.answers.count == 2)

        // An edge that does not match its messages' events gets every answer.
        let plain = self.stream(rooms: ["mine"], answersInEvents: false)
        plain.committed([RoomStream.Committed(mine)])
        _ = plain.take()
        plain.answer(answer(to: mine), byEvent: true)
        #expect(try #require(plain.take()).pending.answers.count == 1)
    }
}

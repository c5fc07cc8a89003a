import Foundation
import OPECore
import Testing

@testable import OPEGateway

/// The hub's promise to the server's memory: a socket whose client stops reading is cut off once
/// its outbox is full, and the room's other sockets keep receiving everything.
@Suite struct RoomHubTests {
    @Test func aSocketThatStopsReadingIsCutOffAndTheOthersGetEverything() async {
        let hub = RoomHub(capacity: 8)
        let (stuck, _) = hub.connect(user: "alice", session: "s-1")
        let (reader, _) = hub.connect(user: "bob", session: "s-1")
        let (elsewhere, _) = hub.connect(user: "carol", session: "s-2")
        // Bob reads each event as it comes; alice never reads.
        var bobReads = reader.stream.makeAsyncIterator()
        var received: [Int64] = []
        for id in Int64(1)...50 {
            hub.deliver([Event(id: id, time: Date(), type: .chatMessage, actor: "bob", session: "s-1", payload: ["text": .string("hi \(id)")])])
            if let id = await bobReads.next()?.eventID { received.append(id) }
        }
        // Alice's outbox held 8 messages; the 9th cut her off: what she has is the first 8 and
        // then the end of her stream (the room controller closes her socket with the reason).
        var stuckIDs: [Int64] = []
        for await item in stuck.stream { if let id = item.eventID { stuckIDs.append(id) } }
        #expect(stuckIDs == Array(1...8))
        #expect(!stuck.send("more"))
        // Bob, connected all along, got every event in order, and carol's room saw none.
        #expect(received == Array(1...50))
        _ = hub.disconnect(elsewhere)
        var other = 0
        for await _ in elsewhere.stream { other += 1 }
        #expect(other == 0)
    }

    /// On an edge of a cluster one hub takes every core's events, and each core numbers its log
    /// from 1: two teams on two cores both have an event 7. Each team must be sent its own.
    @Test func eachCoresEventWithTheSameIdReachesItsOwnRoomAsItself() async {
        let hub = RoomHub()
        let (onCore0, _) = hub.connect(user: "alice", session: "s0-team")
        let (onCore1, _) = hub.connect(user: "bob", session: "s1-team")
        func chat(_ text: String, in session: String) -> Event {
            Event(id: 7, time: Date(), type: .chatMessage, actor: "carol", session: session, payload: ["text": .string(text)])
        }
        hub.deliver([chat("for team 0 only", in: "s0-team")])
        hub.deliver([chat("for team 1 only", in: "s1-team")])
        // A socket opening later reads its history through the same texts.
        let history = hub.texts.text(of: chat("for team 1 only", in: "s1-team"))
        _ = hub.disconnect(onCore0)
        _ = hub.disconnect(onCore1)
        var team0: [String] = []
        for await item in onCore0.stream { team0.append(item.text) }
        var team1: [String] = []
        for await item in onCore1.stream { team1.append(item.text) }
        #expect(team0.count == 1 && team0.allSatisfy { $0.contains("for team 0 only") })
        #expect(team1.count == 1 && team1.allSatisfy { $0.contains("for team 1 only") })
        #expect(history.contains("for team 1 only"))
    }
}

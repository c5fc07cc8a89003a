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
}

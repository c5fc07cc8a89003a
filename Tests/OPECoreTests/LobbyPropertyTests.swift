import Foundation
import OPECore
import PropertyBased
import Testing

/// Random arrivals, departures and clock ticks against the lobby's promises.
@Suite struct LobbyPropertyTests {
    static let steps = zip(Gen.int(in: 0...9), Gen.int(in: 0...24), Gen.int(in: 0...20)).array(of: 1...120)

    @Test func promisesHold() async {
        await propertyCheck(count: 300, input: Gen.int(in: 1...4).array(of: 3), Self.steps) { sizes, steps in
            let sorted = sizes.sorted()
            let group = GroupSize(min: sorted[0], target: sorted[1], max: sorted[2])
            var harness = LobbyHarness(min: group.min, target: group.target, max: group.max, settle: 5, giveUp: 60, lateJoin: 120)
            var now = 0.0
            var placed: [String: String] = [:]
            var joinOrder: [String] = []
            var placementOrder: [String] = []
            for (kind, userIndex, advance) in steps {
                now += Double(advance)
                let user = "u\(userIndex)"
                switch kind {
                case 0...5:
                    // People in a session do not join again (the shell refuses them).
                    if placed[user] == nil, (try? harness.join(user, at: now)) != nil { joinOrder.append(user) }
                case 6:
                    if harness.lobby.leave(user: user) != nil { joinOrder.removeAll { $0 == user } }
                default:
                    break
                }
                for action in harness.tick(at: now) {
                    switch action {
                    case .formSession(_, let members):
                        for member in members {
                            #expect(placed[member] == nil, "\(member) placed twice")
                            placed[member] = "s\(harness.counter)"
                            placementOrder.append(member)
                        }
                    case .addToSession(let session, let member):
                        #expect(placed[member] == nil, "\(member) placed twice")
                        placed[member] = session
                        placementOrder.append(member)
                    case .giveUp(let member, _):
                        joinOrder.removeAll { $0 == member }
                    }
                }
                // Nobody is both waiting and placed; no group above max.
                for (member, _) in placed { #expect(harness.lobby.waiting(member) == nil) }
                for (_, members) in harness.sessions { #expect(members.count <= group.max) }
                // Nobody waits past give-up (60 s).
                for queue in harness.lobby.queues.values {
                    for entry in queue { #expect(now - entry.joinedAt.timeIntervalSince(harness.start) < 60) }
                }
            }
            // FIFO: people are placed in the order they joined (among those placed).
            let placedInJoinOrder = joinOrder.filter { placed[$0] != nil }
            #expect(placementOrder == placedInJoinOrder)
        }
    }
}

import Foundation
import OPECore
import Testing

/// The lobby's announced times (what the page tells a waiting participant) and members leaving a
/// session for good.
@Suite struct LeavingAndWaitingTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let roles = ["driver", "navigator", "researcher"]

    func session(_ members: [String]) -> SessionStateMachine {
        var session = SessionStateMachine(
            id: "s", module: "m", members: members, roles: roles, lateJoinRole: "researcher", rotationInterval: .seconds(600), gracePeriod: .seconds(60),
            now: start
        )
        _ = session.advance(to: .active, now: start)
        return session
    }

    func drivers(_ session: SessionStateMachine) -> Int { session.members.filter { $0.role == "driver" }.count }

    // MARK: Waiting

    @Test func theAnnouncedGiveUpTimeIsWhenTheLobbyGivesUp() throws {
        // min 2: nobody starts alone, so the only thing that can happen to a lone waiter is the give-up.
        var harness = LobbyHarness(min: 2, target: 2, max: 3, settle: 5, giveUp: 300)
        try harness.join("a", at: 10)
        let outlook = try #require(harness.lobby.outlook(of: "a"))
        #expect(outlook.giveUpAt == harness.at(310))
        #expect(outlook.settleAt == harness.at(15))
        #expect(outlook.group == GroupSize(min: 2, target: 2, max: 3))
        #expect(harness.tick(at: 309.9).isEmpty, "still waiting just before the announced time")
        #expect(harness.lobby.waiting("a") != nil)
        #expect(harness.tick(at: 310) == [.giveUp(user: "a", module: "m")])
        #expect(harness.lobby.outlook(of: "a") == nil, "nothing announced for someone not waiting")
    }

    @Test func aLoneWaiterStartsAloneRightAfterTheAnnouncedSettleTime() throws {
        var harness = LobbyHarness(min: 1, target: 2, max: 3, settle: 5)
        try harness.join("a", at: 0)
        let outlook = try #require(harness.lobby.outlook(of: "a"))
        #expect(harness.tick(at: outlook.settleAt.timeIntervalSince(harness.start)).isEmpty)
        #expect(harness.tick(at: 5.25) == [.formSession(module: "m", members: ["a"])])
    }

    @Test func aSeatFreedByALeaverGoesToTheNextLateJoiner() throws {
        var harness = LobbyHarness(min: 2, target: 2, max: 2, settle: 5, lateJoin: 600)
        try harness.join("a", at: 0)
        try harness.join("b", at: 0)
        harness.tick(at: 1)
        try harness.join("c", at: 10)
        #expect(harness.tick(at: 20).isEmpty, "the team is full")
        harness.lobby.memberLeft(session: "s1")
        #expect(harness.tick(at: 21) == [.addToSession(session: "s1", user: "c")])
    }

    // MARK: Leaving

    @Test func whenTheDriverLeavesTheNextSeatDrivesAndAPairIsDriverAndNavigator() {
        var team = session(["a", "b", "c"])
        let later = start.addingTimeInterval(420)
        #expect(
            team.removeMember("a", now: later) == [.memberLeft(user: "a"), .rolesChanged(["b": "driver", "c": "navigator"], reason: "member_left")]
        )
        #expect(team.nextRotation == later.addingTimeInterval(600), "the new driver gets a whole turn")
        #expect(team.phase == .active)
    }

    @Test func whenSomeoneElseLeavesTheDriverKeepsDriving() {
        var team = session(["a", "b", "c"])
        #expect(team.removeMember("c", now: start) == [.memberLeft(user: "c")], "driver and navigator stay as they are")
        var other = session(["a", "b", "c"])
        _ = other.removeMember("b", now: start)
        #expect(other.roleMap == ["a": "driver", "c": "navigator"], "a pair left behind is driver and navigator")
        #expect(other.nextRotation == start.addingTimeInterval(600), "the driver's turn goes on")
    }

    @Test func theLastOneOutEndsTheSession() {
        var team = session(["a", "b"])
        _ = team.removeMember("a", now: start)
        #expect(team.roleMap == ["b": "driver"])
        #expect(team.removeMember("b", now: start) == [.memberLeft(user: "b"), .phaseChanged(.abandoned)])
        #expect(team.phase == .abandoned && team.members.isEmpty)
        #expect(team.removeMember("b", now: start).isEmpty)
    }

    @Test func strangersAndEndedSessionsHaveNobodyToLose() {
        var team = session(["a", "b"])
        #expect(team.removeMember("z", now: start).isEmpty)
        _ = team.complete()
        #expect(team.removeMember("a", now: start).isEmpty)
        #expect(team.members.count == 2)
    }

    /// Any mix of late joins, rotations and departures leaves a team with exactly one driver.
    @Test(arguments: 0..<50)
    func everyTeamKeepsExactlyOneDriverAsPeopleComeAndGo(seed: Int) {
        var generator = SplitMix(seed: UInt64(seed))
        var team = session(Array(["a", "b", "c", "d"].prefix(Int.random(in: 1...4, using: &generator))))
        var next = 0
        for _ in 0..<40 {
            switch Int.random(in: 0..<3, using: &generator) {
            case 0:
                next += 1
                _ = team.addLateJoiner("late\(next)", now: start)
            case 1: _ = team.rotate(now: start)
            default:
                guard team.members.count > 1, let leaver = team.members.randomElement(using: &generator) else { continue }
                _ = team.removeMember(leaver.user, now: start)
            }
            #expect(drivers(team) == 1, "seed \(seed): roles \(team.roleMap)")
        }
    }
}

/// A small seeded generator (SplitMix64), so a failing case can be run again.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

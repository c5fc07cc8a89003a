import Foundation
import OPECore
import Testing

/// The lobby driven by hand with a manual clock; ids are assigned the way the shell assigns them.
struct LobbyHarness {
    var lobby = LobbyStateMachine()
    var start = Date(timeIntervalSince1970: 1_800_000_000)
    var sessions: [String: [String]] = [:]
    var gaveUp: [String] = []
    var counter = 0

    init(min: Int, target: Int, max: Int, settle: Int = 5, giveUp: Int = 300, lateJoin: Int = 600) {
        lobby.configure(
            module: "m",
            .init(
                group: GroupSize(min: min, target: target, max: max),
                matching: MatchingPolicy(settle: .seconds(settle), giveUp: .seconds(giveUp), lateJoin: .seconds(lateJoin))
            )
        )
    }

    func at(_ second: Double) -> Date { start.addingTimeInterval(second) }

    mutating func join(_ user: String, at second: Double) throws {
        try lobby.join(user: user, module: "m", now: at(second))
    }

    /// Runs a pass and applies its actions; returns them.
    @discardableResult
    mutating func tick(at second: Double) -> [LobbyStateMachine.Action] {
        let actions = lobby.tick(now: at(second))
        for action in actions {
            switch action {
            case .formSession(_, let members):
                counter += 1
                let id = "s\(counter)"
                sessions[id] = members
                lobby.sessionUpdated(.init(id: id, module: "m", size: members.count, createdAt: at(second)))
            case .addToSession(let session, let user):
                sessions[session, default: []].append(user)
            case .giveUp(let user, _):
                gaveUp.append(user)
            }
        }
        return actions
    }
}

@Suite struct LobbyStateMachineTests {
    @Test func threeArrivingTogetherFormOneGroupOfTheTarget() throws {
        var harness = LobbyHarness(min: 1, target: 3, max: 4)
        for user in ["a", "b", "c"] { try harness.join(user, at: 0) }
        #expect(harness.tick(at: 0.5) == [.formSession(module: "m", members: ["a", "b", "c"])])
    }

    @Test func aLoneUserGetsASoloGroupAfterTheSettleTimeAndLaterArrivalsFillIt() throws {
        var harness = LobbyHarness(min: 1, target: 3, max: 4)
        try harness.join("a", at: 0)
        #expect(harness.tick(at: 5).isEmpty, "settle is 'more than 5 s'")
        #expect(harness.tick(at: 5.5) == [.formSession(module: "m", members: ["a"])])
        try harness.join("b", at: 30)
        #expect(harness.tick(at: 30) == [.addToSession(session: "s1", user: "b")])
        try harness.join("c", at: 40)
        try harness.join("d", at: 40)
        // c tops the room up to the target; d waits for a room of their own.
        #expect(harness.tick(at: 40) == [.addToSession(session: "s1", user: "c")])
        #expect(harness.tick(at: 46) == [.formSession(module: "m", members: ["d"])])
    }

    @Test func fourTogetherMakeATargetGroupAndALeftover() throws {
        var harness = LobbyHarness(min: 1, target: 3, max: 4)
        for user in ["a", "b", "c", "d"] { try harness.join(user, at: 0) }
        #expect(harness.tick(at: 0) == [.formSession(module: "m", members: ["a", "b", "c"])])
        // d may top up s1? No: s1 is at the target already.
        #expect(harness.tick(at: 6) == [.formSession(module: "m", members: ["d"])])
    }

    @Test func tooFewForMinimumOverfillAYoungSessionUpToMax() throws {
        var harness = LobbyHarness(min: 2, target: 2, max: 3, settle: 10, giveUp: 120)
        for user in ["a", "b"] { try harness.join(user, at: 0) }
        harness.tick(at: 0)
        try harness.join("c", at: 20)
        #expect(harness.tick(at: 25).isEmpty)
        #expect(harness.tick(at: 31) == [.addToSession(session: "s1", user: "c")])
        #expect(harness.sessions["s1"] == ["a", "b", "c"])
        try harness.join("d", at: 40)
        // s1 is full (max 3): d cannot be placed and gives up after 120 s.
        #expect(harness.tick(at: 100).isEmpty)
        #expect(harness.tick(at: 160) == [.giveUp(user: "d", module: "m")])
        #expect(harness.lobby.waiting("d") == nil)
    }

    @Test func lateJoinWindowCloses() throws {
        var harness = LobbyHarness(min: 1, target: 2, max: 3, lateJoin: 60)
        try harness.join("a", at: 0)
        harness.tick(at: 6)
        try harness.join("b", at: 65)
        #expect(harness.tick(at: 65) == [.addToSession(session: "s1", user: "b")], "s1 formed at 6 s is still young")
        try harness.join("c", at: 70)
        #expect(harness.tick(at: 70).isEmpty, "s1 is older than the late-join window")
        #expect(harness.tick(at: 76) == [.formSession(module: "m", members: ["c"])])
    }

    @Test func joinErrorsAreSpecific() throws {
        var harness = LobbyHarness(min: 1, target: 2, max: 3)
        try harness.join("a", at: 0)
        #expect(throws: LobbyStateMachine.JoinError.alreadyWaiting(module: "m")) { try harness.join("a", at: 1) }
        #expect(throws: LobbyStateMachine.JoinError.unknownModule("x")) { try harness.lobby.join(user: "b", module: "x", now: harness.at(0)) }
        var closed = MatchingPolicy()
        closed.open = false
        harness.lobby.configure(module: "m", .init(group: .default, matching: closed))
        #expect(throws: LobbyStateMachine.JoinError.closed("m")) { try harness.join("b", at: 1) }
        harness.lobby.configure(module: "m", .init(group: .default, matching: MatchingPolicy(mode: .static)))
        #expect(throws: LobbyStateMachine.JoinError.staticMode("m")) { try harness.join("b", at: 1) }
    }

    @Test func leavingRemovesFromTheQueueAndKeepsOrder() throws {
        var harness = LobbyHarness(min: 2, target: 3, max: 3)
        for user in ["a", "b", "c"] { try harness.join(user, at: Double(["a", "b", "c"].firstIndex(of: user)!)) }
        harness.lobby.leave(user: "a")
        #expect(harness.lobby.position(of: "c") == 2)
        #expect(harness.tick(at: 3).isEmpty)
        #expect(harness.tick(at: 7) == [.formSession(module: "m", members: ["b", "c"])])
    }
}

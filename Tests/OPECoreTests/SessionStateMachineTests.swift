import Foundation
import OPECore
import Testing

@Suite struct SessionStateMachineTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let roles = ["driver", "navigator", "researcher"]

    func session(_ members: [String], rotation: Duration? = nil, grace: Duration = .seconds(60)) -> SessionStateMachine {
        var session = SessionStateMachine(
            id: "s", module: "m", members: members, roles: roles, lateJoinRole: "researcher", rotationInterval: rotation, gracePeriod: grace, now: start
        )
        _ = session.advance(to: .active, now: start)
        return session
    }

    @Test(arguments: [
        (["a"], ["a": "driver"]),
        (["a", "b"], ["a": "driver", "b": "navigator"]),
        (["a", "b", "c"], ["a": "driver", "b": "navigator", "c": "researcher"]),
        (["a", "b", "c", "d"], ["a": "driver", "b": "navigator", "c": "researcher", "d": "researcher"]),
    ])
    func rolesAreAssignedInOrderForGroupsOfOneToFour(members: [String], expected: [String: String]) {
        #expect(session(members).roleMap == expected)
    }

    @Test func aPairSwapsDriverAndNavigatorAndNobodyIsLeftWithoutADriver() {
        var pair = session(["a", "b"])
        #expect(pair.rotate(now: start) == [.rolesChanged(["a": "navigator", "b": "driver"], reason: "rotate")])
        _ = pair.rotate(now: start)
        #expect(pair.roleMap == ["a": "driver", "b": "navigator"])
    }

    @Test func threeRotateThroughAllThreeRolesAndOneKeepsDriving() {
        var team = session(["a", "b", "c"])
        var seen: [String: Set<String>] = [:]
        for _ in 0..<3 {
            _ = team.rotate(now: start)
            for (user, role) in team.roleMap { seen[user, default: []].insert(role) }
        }
        #expect(seen.values.allSatisfy { $0 == Set(roles) }, "\(seen)")
        var alone = session(["a"])
        #expect(alone.rotate(now: start).isEmpty, "nothing to announce")
        #expect(alone.roleMap == ["a": "driver"])
    }

    @Test func anyRotationStartsTheTimerAgain() {
        var pair = session(["a", "b"], rotation: .seconds(600))
        for member in ["a", "b"] { pair.connected(member) }
        // The bot rotates 7.5 minutes in: the new driver gets a whole turn, not the rest of the old one.
        let botRotation = start.addingTimeInterval(450)
        #expect(!pair.assign(roles: ["a": "navigator", "b": "driver"], reason: "rotate", now: botRotation).isEmpty)
        #expect(pair.nextRotation == botRotation.addingTimeInterval(600))
        #expect(pair.tick(now: start.addingTimeInterval(600)).isEmpty)
        #expect(pair.tick(now: botRotation.addingTimeInterval(600)) == [.rolesChanged(["a": "driver", "b": "navigator"], reason: "rotate")])
    }

    @Test func theTimerRotatesOnlyWhenDue() {
        var team = session(["a", "b", "c"], rotation: .seconds(600))
        for member in ["a", "b", "c"] { team.connected(member) }
        #expect(team.nextRotation == start.addingTimeInterval(600))
        #expect(team.tick(now: start.addingTimeInterval(599)).isEmpty)
        #expect(team.tick(now: start.addingTimeInterval(600)) == [.rolesChanged(["a": "researcher", "b": "driver", "c": "navigator"], reason: "rotate")])
        #expect(team.nextRotation == start.addingTimeInterval(1200))
    }

    @Test func lateJoinersGetTheLateJoinRoleAndThenRotate() {
        var pair = session(["a", "b"])
        #expect(pair.addLateJoiner("c", now: start) == [.memberJoined(user: "c", role: "researcher")])
        #expect(pair.addLateJoiner("c", now: start).isEmpty, "nobody joins twice")
        _ = pair.rotate(now: start)
        #expect(pair.roleMap == ["a": "researcher", "b": "driver", "c": "navigator"])
    }

    @Test func aReconnectWithinGraceKeepsSeatAndRoleAndAllGoneAbandons() {
        var pair = session(["a", "b"], grace: .seconds(60))
        pair.connected("a")
        pair.connected("b")
        pair.disconnected("a", now: start.addingTimeInterval(10))
        #expect(pair.tick(now: start.addingTimeInterval(100)).isEmpty, "b is still here")
        pair.disconnected("b", now: start.addingTimeInterval(100))
        pair.connected("a")
        #expect(pair.tick(now: start.addingTimeInterval(150)).isEmpty)
        #expect(pair.member("a")?.role == "driver")
        pair.disconnected("a", now: start.addingTimeInterval(150))
        #expect(pair.tick(now: start.addingTimeInterval(210)).isEmpty, "only 60 s since the last one left")
        #expect(pair.tick(now: start.addingTimeInterval(211)) == [.phaseChanged(.abandoned)])
        #expect(pair.rotate(now: start).isEmpty, "an abandoned session does nothing more")
    }

    @Test func membersWhoNeverArriveAbandonTheSessionAfterGrace() {
        var pair = session(["a", "b"], grace: .seconds(120))
        #expect(pair.tick(now: start.addingTimeInterval(120)).isEmpty)
        #expect(pair.tick(now: start.addingTimeInterval(121)) == [.phaseChanged(.abandoned)])
    }

    @Test func phasesOnlyMoveForward() {
        var fresh = SessionStateMachine(
            id: "s", module: "m", members: ["a"], roles: roles, lateJoinRole: "researcher", rotationInterval: nil, gracePeriod: .seconds(1), now: start
        )
        #expect(fresh.phase == .pending)
        #expect(fresh.advance(to: .starting, now: start) == [.phaseChanged(.starting)])
        #expect(fresh.advance(to: .pending, now: start).isEmpty)
        #expect(fresh.advance(to: .active, now: start) == [.phaseChanged(.active)])
        #expect(fresh.complete() == [.phaseChanged(.completed)])
        #expect(fresh.advance(to: .active, now: start).isEmpty)
    }

    @Test func aFixedGroupFillsSeatsBeforeItStarts() {
        var group = SessionStateMachine(
            id: "s", module: "m", members: ["a"], roles: roles, lateJoinRole: "researcher", rotationInterval: nil, gracePeriod: .seconds(60), now: start
        )
        #expect(group.addMember("b", now: start) == [.memberJoined(user: "b", role: "navigator")])
        _ = group.advance(to: .active, now: start)
        #expect(group.addMember("c", now: start) == [.memberJoined(user: "c", role: "researcher")])
        #expect(group.member("c")?.lateJoiner == true)
    }
}

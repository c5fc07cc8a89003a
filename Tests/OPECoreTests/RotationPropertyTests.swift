import Foundation
import OPECore
import PropertyBased
import Testing

/// Whatever happens to a team — timed and commanded rotations, late joiners, people leaving and
/// coming back — it always has exactly one driver, and every member of a team that stays together
/// gets to drive.
@Suite struct RotationPropertyTests {
    static let roles = ["driver", "navigator", "researcher"]
    /// (what: 0–5 rotate, 6–7 late joiner, 8 away, 9 back; minutes that pass)
    static let steps = zip(Gen.int(in: 0...9), Gen.int(in: 0...15)).array(of: 1...80)

    @Test func everyTeamAlwaysHasExactlyOneDriver() async {
        await propertyCheck(count: 400, input: Gen.int(in: 1...4), Self.steps) { size, steps in
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            let members = (0..<size).map { "m\($0)" }
            var session = SessionStateMachine(
                id: "s", module: "m", members: members, roles: Self.roles, lateJoinRole: "researcher", rotationInterval: .seconds(600),
                gracePeriod: .seconds(100_000), now: start
            )
            _ = session.advance(to: .active, now: start)
            var now = start
            for (kind, minutes) in steps {
                now = now.addingTimeInterval(Double(minutes) * 60)
                switch kind {
                case 0...5: _ = kind < 3 ? session.rotate(now: now) : session.tick(now: now)
                case 6, 7: if session.members.count < 4 { _ = session.addLateJoiner("late\(session.members.count)", now: now) }
                case 8: session.disconnected(session.members[minutes % session.members.count].user, now: now)
                default: session.connected(session.members[minutes % session.members.count].user)
                }
                let drivers = session.members.filter { $0.role == "driver" }
                #expect(drivers.count == 1, "team of \(session.members.count) after \(kind): \(session.roleMap)")
            }
        }
    }

    @Test func everyoneDrivesInTurn() async {
        await propertyCheck(count: 100, input: Gen.int(in: 1...4), Gen.int(in: 1...12)) { size, extraTurns in
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            var session = SessionStateMachine(
                id: "s", module: "m", members: (0..<size).map { "m\($0)" }, roles: Self.roles, lateJoinRole: "researcher", rotationInterval: nil,
                gracePeriod: .seconds(60), now: start
            )
            _ = session.advance(to: .active, now: start)
            var drove: Set<String> = [session.members.first { $0.role == "driver" }!.user]
            for _ in 0..<(size - 1 + extraTurns) {
                _ = session.rotate(now: start)
                drove.insert(session.members.first { $0.role == "driver" }!.user)
            }
            #expect(drove.count == size, "\(drove) of \(size)")
        }
    }
}

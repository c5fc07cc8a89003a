import Foundation
import OPECore
import Testing

@testable import OPEGateway

/// What an upgrade's check found is used again only by the same connection, with the same
/// credential, for the same room, and only for a few seconds.
@Suite struct UpgradeHandoffTests {
    /// Two connections, as the handoff tells them apart.
    final class Connection: Sendable {}
    let first = Connection()
    let second = Connection()
    let alice = Identity(user: User(username: "alice", displayName: "Alice", role: .participant), method: .bearer(token: "secret-a"))

    func session(_ id: String) -> SessionStateMachine {
        SessionStateMachine(
            id: id, module: "python-intro", members: ["alice", "bob"], roles: ["driver", "navigator"], lateJoinRole: "navigator", rotationInterval: nil,
            gracePeriod: .seconds(60), now: Date())
    }

    @Test func theCallerIsHandedOnlyToTheSameConnectionAndCredentialWhileFresh() {
        let handoff = UpgradeHandoff()
        let start = ContinuousClock.now
        handoff.keep(alice, credential: "Bearer secret-a", connection: first, now: start)

        #expect(handoff.identity(credential: "Bearer secret-a", connection: first, now: start)?.user.username == "alice")
        // Another credential on the same connection, or the same one on another connection: asked again.
        #expect(handoff.identity(credential: "Bearer secret-b", connection: first, now: start) == nil)
        #expect(handoff.identity(credential: "Bearer secret-a", connection: second, now: start) == nil)
        // Past its lifetime, nothing.
        #expect(handoff.identity(credential: "Bearer secret-a", connection: first, now: start + UpgradeHandoff.identityLifetime) == nil)
    }

    @Test func theRoomsSessionStaysForTheUpgradeAndIsTakenOnceByTheSocket() {
        let handoff = UpgradeHandoff()
        let start = ContinuousClock.now
        let connection = first
        handoff.keep(alice, credential: "Bearer secret-a", connection: connection, now: start)
        handoff.keep(session("s-1"), connection: connection, now: start)

        // The upgrade's second decision reads it; another room's id does not match it.
        #expect(handoff.session("s-1", connection: connection, now: start)?.id == "s-1")
        #expect(handoff.session("s-2", connection: connection, now: start) == nil)
        // A session found longer ago than its lifetime is looked up again; the caller still is not.
        let later = start + UpgradeHandoff.sessionLifetime
        #expect(handoff.session("s-1", connection: connection, now: later) == nil)
        #expect(handoff.identity(credential: "Bearer secret-a", connection: connection, now: later)?.user.username == "alice")
        // The socket's start takes it, and the connection's entry with it.
        #expect(handoff.take(session: "s-1", connection: connection, now: start)?.id == "s-1")
        #expect(handoff.take(session: "s-1", connection: connection, now: start) == nil)
        #expect(handoff.identity(credential: "Bearer secret-a", connection: connection, now: start) == nil)
        #expect(handoff.count == 0)
    }

    /// A connection that closed before its upgrade leaves its entry until the sweep; a new
    /// connection that the allocator puts where it was must not find it.
    @Test func aNewConnectionInAClosedOnesPlaceFindsNothing() throws {
        let handoff = UpgradeHandoff()
        let start = ContinuousClock.now
        var gone: Connection? = Connection()
        let place = ObjectIdentifier(try #require(gone))
        handoff.keep(alice, credential: "Bearer secret-a", connection: try #require(gone), now: start)
        handoff.keep(session("s-1"), connection: try #require(gone), now: start)
        gone = nil
        // glibc hands a freed block of this size straight back; try a few times to land on it.
        var successors: [Connection] = []
        while successors.count < 100, !successors.contains(where: { ObjectIdentifier($0) == place }) { successors.append(Connection()) }
        let successor = try #require(successors.first { ObjectIdentifier($0) == place }, "no new connection landed on the closed one's memory")
        #expect(handoff.identity(credential: "Bearer secret-a", connection: successor, now: start) == nil)
        #expect(handoff.session("s-1", connection: successor, now: start) == nil)
        #expect(handoff.take(session: "s-1", connection: successor, now: start) == nil)
    }

    @Test func aRefusedUpgradeLeavesNothingAndStaleEntriesAreSwept() {
        let handoff = UpgradeHandoff()
        let start = ContinuousClock.now
        handoff.keep(alice, credential: "Bearer secret-a", connection: first, now: start)
        handoff.forget(connection: first)
        #expect(handoff.count == 0)

        // Upgrades whose clients went away between check and upgrade: dropped once stale, by the
        // first keep after their lifetime (once there are enough of them to be worth a sweep).
        let gone = (0...1000).map { _ in Connection() }
        for connection in gone { handoff.keep(session("s-1"), connection: connection, now: start) }
        #expect(handoff.count == gone.count)
        handoff.keep(session("s-2"), connection: second, now: start + UpgradeHandoff.identityLifetime)
        #expect(handoff.count == 1)
        #expect(handoff.session("s-2", connection: second, now: start + UpgradeHandoff.identityLifetime)?.id == "s-2")
    }
}

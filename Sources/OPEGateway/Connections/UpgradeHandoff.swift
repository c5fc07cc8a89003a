import Metrics
import OPECore
import Synchronization

/// What a WebSocket upgrade's check found, handed to the upgrade itself and to the socket's
/// start on the same connection moments later, so they do not ask again.
///
/// An upgrade is decided twice (``UpgradeRefusalHandler``), then the socket starts. Both
/// decisions looked up the caller's token or sign-in (a hash and a database read each); the
/// session the check found already went on to the upgrade and the socket's start (on an edge, a
/// call to a core fewer each), through the hub, by user and room. Now the check keeps both, per
/// connection, and the rest use them:
/// - the caller's identity only for the same connection and the very credential it was found
///   for (the same request, decided again), for up to ``identityLifetime``: on a machine busy
///   with thousands of sockets opening, the upgrade can come seconds after its check. A token
///   revoked between the check and the socket's start (when it registers for revocations) is
///   caught by the gateway's periodic credential check (`CredentialSweeper`), as one revoked
///   between a lookup and that registration always was;
/// - the session for ``sessionLifetime``, until the socket takes it at its start: its welcome
///   shows the room as the check found it, and the history that follows brings any change since.
///
/// An entry holds its connection weakly and answers only that connection: a new connection that
/// happens to reuse a closed one's memory finds nothing. Entries of upgrades that never start
/// (the client went away between check and upgrade) are dropped once stale, in a sweep at most
/// once per ``identityLifetime``.
final class UpgradeHandoff: Sendable {
    private struct Entry {
        weak var connection: (any AnyObject & Sendable)?
        var credential: String?
        var identity: Identity?
        var identityAt: ContinuousClock.Instant
        var session: SessionStateMachine?
        var sessionAt: ContinuousClock.Instant
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var lastSweep = ContinuousClock.now
    }

    /// How long who a check found the caller to be is good for its upgrade.
    static let identityLifetime: Duration = .seconds(30)
    /// How long the session a check found is good for the upgrade and the socket's start.
    static let sessionLifetime: Duration = .seconds(5)

    /// Credential checks an upgrade did not make because its check had just made them. Made with
    /// each handoff, not once per process, so that it goes to the metrics system of the gateway
    /// that uses it (one made before the system is set up stays a no-op for good).
    private let reused = Counter(label: "ope_upgrade_credentials_reused_total")
    private let state = Mutex(State())

    /// Keeps who the caller of an upgrade check on `connection` is, found from `credential`.
    func keep(_ identity: Identity, credential: String, connection: any AnyObject & Sendable, now: ContinuousClock.Instant = .now) {
        update(connection, now: now) { entry in
            entry.credential = credential
            entry.identity = identity
            entry.identityAt = now
        }
    }

    /// Keeps the session an upgrade check on `connection` found for its room.
    func keep(_ session: SessionStateMachine, connection: any AnyObject & Sendable, now: ContinuousClock.Instant = .now) {
        update(connection, now: now) { entry in
            entry.session = session
            entry.sessionAt = now
        }
    }

    /// Who the check on `connection` found `credential` to belong to, if it did so within ``identityLifetime``.
    func identity(credential: String, connection: any AnyObject & Sendable, now: ContinuousClock.Instant = .now) -> Identity? {
        let entry = state.withLock { $0.entries[ObjectIdentifier(connection)] }
        guard let entry, entry.connection === connection, entry.identityAt.duration(to: now) < Self.identityLifetime, entry.credential == credential,
            let identity = entry.identity
        else { return nil }
        reused.increment()
        return identity
    }

    /// The session the check on `connection` found for room `id`, if fresh; it stays for ``take(session:connection:now:)``.
    func session(_ id: String, connection: any AnyObject & Sendable, now: ContinuousClock.Instant = .now) -> SessionStateMachine? {
        Self.fresh(state.withLock { $0.entries[ObjectIdentifier(connection)] }, of: connection, session: id, now: now)
    }

    /// The same, and the connection's entry is done with (the socket has started).
    func take(session id: String, connection: any AnyObject & Sendable, now: ContinuousClock.Instant = .now) -> SessionStateMachine? {
        Self.fresh(state.withLock { $0.entries.removeValue(forKey: ObjectIdentifier(connection)) }, of: connection, session: id, now: now)
    }

    /// Drops what a check on `connection` found (the upgrade was refused: no socket will start).
    func forget(connection: any AnyObject & Sendable) {
        _ = state.withLock { $0.entries.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    /// Entries held (for tests).
    var count: Int { state.withLock { $0.entries.count } }

    private func update(_ connection: any AnyObject & Sendable, now: ContinuousClock.Instant, _ change: (inout Entry) -> Void) {
        state.withLock { state in
            // Thousands of sockets opening together are all fresh: sweeping them on every
            // admission once cost a fifth of a connect storm's CPU, so at most once per lifetime.
            if state.entries.count > 1000, state.lastSweep.duration(to: now) >= Self.identityLifetime {
                state.entries = state.entries.filter { $0.value.connection != nil && $0.value.identityAt.duration(to: now) < Self.identityLifetime }
                state.lastSweep = now
            }
            let key = ObjectIdentifier(connection)
            var entry = state.entries[key].flatMap { $0.connection === connection ? $0 : nil } ?? Entry(identityAt: now, sessionAt: now)
            entry.connection = connection
            change(&entry)
            state.entries[key] = entry
        }
    }

    private static func fresh(_ entry: Entry?, of connection: any AnyObject & Sendable, session id: String, now: ContinuousClock.Instant)
        -> SessionStateMachine?
    {
        guard let entry, entry.connection === connection, entry.sessionAt.duration(to: now) < sessionLifetime, let session = entry.session, session.id == id
        else { return nil }
        return session
    }
}

import OPEStore
import Synchronization

/// Remembers for a few seconds that a credential may use a session's workspace, so the proxy
/// does not look the caller up in the database and the session manager on every request a
/// JupyterLab page makes. A revocation (sign-out, a revoked token, a disabled account) empties it
/// at once (``clear()``); only a revocation made by another process (`ope user token revoke` on
/// the same data dir) waits for `lifetime`.
final class WorkspaceAccessCache: Sendable {
    private struct Key: Hashable {
        var credential: String
        var session: String
    }

    private struct Entry {
        var expiry: ContinuousClock.Instant
        var identity: Identity
    }

    let lifetime: Duration
    let capacity: Int
    private let entries = Mutex<[Key: Entry]>([:])

    init(lifetime: Duration = .seconds(5), capacity: Int = 50_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// Who is behind the raw `credential` if they were let into `session` moments ago.
    func allowed(_ credential: String, session: String) -> Identity? {
        let key = Key(credential: credential, session: session)
        return entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            if entry.expiry > .now { return entry.identity }
            entries[key] = nil
            return nil
        }
    }

    func allows(_ credential: String, session: String) -> Bool {
        allowed(credential, session: session) != nil
    }

    func allow(_ credential: String, as identity: Identity, session: String) {
        entries.withLock { entries in
            // Full: start afresh rather than track ages; the next requests fill it again.
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[Key(credential: credential, session: session)] = Entry(expiry: .now + lifetime, identity: identity)
        }
    }

    /// Forgets everyone: the next request of each caller is checked in full. Revocations are rare,
    /// so emptying the whole cache is simpler than finding the entries they cover, and as safe.
    func clear() {
        entries.withLock { $0.removeAll(keepingCapacity: true) }
    }
}

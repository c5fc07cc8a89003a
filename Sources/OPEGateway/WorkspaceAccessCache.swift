import Synchronization

/// Remembers for a few seconds that a credential may use a session's workspace, so the proxy
/// does not look the caller up in the database and the session manager on every request a
/// JupyterLab page makes. Revoking a token or signing out takes effect on workspaces within
/// `lifetime`.
final class WorkspaceAccessCache: Sendable {
    private struct Key: Hashable {
        var credential: String
        var session: String
    }

    let lifetime: Duration
    let capacity: Int
    private let entries = Mutex<[Key: ContinuousClock.Instant]>([:])

    init(lifetime: Duration = .seconds(5), capacity: Int = 50_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    func allows(_ credential: String, session: String) -> Bool {
        let key = Key(credential: credential, session: session)
        return entries.withLock { entries in
            guard let expiry = entries[key] else { return false }
            if expiry > .now { return true }
            entries[key] = nil
            return false
        }
    }

    func allow(_ credential: String, session: String) {
        entries.withLock { entries in
            // Full: start afresh rather than track ages; the next requests fill it again.
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[Key(credential: credential, session: session)] = .now + lifetime
        }
    }
}

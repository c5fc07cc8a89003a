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
    private struct Entry {
        var expiry: ContinuousClock.Instant
        /// Whom the credential belongs to (edits are noted per member).
        var user: String
    }

    private let entries = Mutex<[Key: Entry]>([:])

    init(lifetime: Duration = .seconds(5), capacity: Int = 50_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The user the credential was let in as moments ago, or nil if it must be checked again.
    func allowedUser(_ credential: String, session: String) -> String? {
        let key = Key(credential: credential, session: session)
        return entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            if entry.expiry > .now { return entry.user }
            entries[key] = nil
            return nil
        }
    }

    func allows(_ credential: String, session: String) -> Bool { allowedUser(credential, session: session) != nil }

    func allow(_ credential: String, session: String, user: String) {
        entries.withLock { entries in
            // Full: start afresh rather than track ages; the next requests fill it again.
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[Key(credential: credential, session: session)] = Entry(expiry: .now + lifetime, user: user)
        }
    }
}

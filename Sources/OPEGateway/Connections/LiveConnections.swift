import Foundation
import Metrics
import OPEStore
import Synchronization

/// Connections that outlive the request that opened them (team-room sockets, proxied JupyterLab
/// WebSockets), by the credential they were opened with, so that ending a sign-in, revoking a
/// token or disabling an account closes them within moments instead of leaving them working.
///
/// It listens to the account directory's ``RevocationNotifier`` and calls the `onRevoke` of every covered
/// connection once. `onRevoke` runs on the revoking request's task: it must only signal.
public final class LiveConnections: Sendable {
    private struct Entry {
        var credential: Credential
        var onRevoke: @Sendable () -> Void
    }

    private let entries = Mutex<[UUID: Entry]>([:])
    private let closed = Counter(label: "ope_connections_revoked_total")

    init(revocations: RevocationNotifier) {
        // Held strongly by the notifier: both live as long as the directory the gateway was built on.
        revocations.subscribe { [self] revocation in revoke(revocation) }
    }

    /// Registers a connection; `onRevoke` is called once if its credential is revoked.
    func register(_ credential: Credential, onRevoke: @escaping @Sendable () -> Void) -> UUID {
        let id = UUID()
        entries.withLock { $0[id] = Entry(credential: credential, onRevoke: onRevoke) }
        return id
    }

    func unregister(_ id: UUID) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }

    /// How many connections are open with a credential that could be revoked.
    public var count: Int { entries.withLock { $0.count } }

    /// Every credential with an open connection.
    var credentials: Set<Credential> { entries.withLock { Set($0.values.map(\.credential)) } }

    /// Closes the connections whose credential was `checked` and found not `valid` (the periodic
    /// check that catches what no notification said: another process's revocations, ends
    /// passing). Connections opened since the check began are left alone.
    func keep(checked: Set<Credential>, valid: Set<Credential>) {
        let ended = entries.withLock { entries -> [Entry] in
            let ids = entries.filter { checked.contains($0.value.credential) && !valid.contains($0.value.credential) }.map(\.key)
            return ids.compactMap { entries.removeValue(forKey: $0) }
        }
        if !ended.isEmpty { closed.increment(by: ended.count) }
        for entry in ended { entry.onRevoke() }
    }

    private func revoke(_ revocation: Revocation) {
        let covered = entries.withLock { entries -> [Entry] in
            let ids = entries.filter { revocation.covers($0.value.credential) }.map(\.key)
            return ids.compactMap { entries.removeValue(forKey: $0) }
        }
        if !covered.isEmpty { closed.increment(by: covered.count) }
        for entry in covered { entry.onRevoke() }
    }
}

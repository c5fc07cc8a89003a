import Foundation
import Synchronization

/// Tells whoever holds connections open that credentials were revoked.
///
/// The stores publish after the change is committed; subscribers (the room and the workspace
/// proxy) close what was opened with a covered credential. Delivery is in-process and synchronous,
/// so handlers must only signal, never wait. Another process on the same data dir (a CLI command,
/// or a gateway replica sharing one database) does not reach it: the gateway's periodic check of
/// open connections catches those; replicas could also feed ``publish(_:)`` from a shared channel
/// for the immediate push.
public final class RevocationNotifier: Sendable {
    public typealias Handler = @Sendable (Revocation) -> Void
    private let handlers = Mutex<[UUID: Handler]>([:])

    public init() {}

    /// Calls `handler` with every revocation from now on; returns a token for ``unsubscribe(_:)``.
    @discardableResult
    public func subscribe(_ handler: @escaping Handler) -> UUID {
        let id = UUID()
        handlers.withLock { $0[id] = handler }
        return id
    }

    public func unsubscribe(_ id: UUID) {
        _ = handlers.withLock { $0.removeValue(forKey: id) }
    }

    public func publish(_ revocation: Revocation) {
        let current = handlers.withLock { Array($0.values) }
        for handler in current { handler(revocation) }
    }
}

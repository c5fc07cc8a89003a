import Foundation
import Synchronization

/// A cache of one kind's objects that follows the server: it lists, watches, and applies every
/// change (a ``ListWatcher`` underneath, so a broken watch resumes and a 410 relists), and tells
/// its consumer which object changed. Reconcilers read the cache, never the server, so a
/// reconcile costs no request and an API server gone for a while leaves the cache as it was.
public final class Informer<R: KubeResource>: Sendable {
    private struct State {
        var objects: [String: R] = [:]
        var synced = false
        var syncWaiters: [CheckedContinuation<Void, Never>] = []
    }

    public let watcher: ListWatcher<R>
    private let state = Mutex(State())

    public init(watcher: ListWatcher<R>) { self.watcher = watcher }

    /// `namespace/name` (or `name` for cluster-scoped kinds): how queues and caches name an object.
    public static func key(namespace: String?, name: String) -> String {
        guard let namespace, !namespace.isEmpty else { return name }
        return namespace + "/" + name
    }

    public static func key(of object: R) -> String { key(namespace: object.namespace, name: object.name) }

    /// Follows the server until cancelled, calling `changed` with the key of every object that was
    /// added, modified or deleted (after a relist: every key, since anything may have changed).
    public func run(changed: @Sendable (String) async -> Void) async throws {
        for try await event in watcher {
            switch event {
            case .listed(let items, _):
                let (keys, waiters) = state.withLock { state -> (Set<String>, [CheckedContinuation<Void, Never>]) in
                    var keys = Set(state.objects.keys)
                    state.objects = Dictionary(items.map { (Self.key(of: $0), $0) }, uniquingKeysWith: { $1 })
                    keys.formUnion(state.objects.keys)
                    state.synced = true
                    defer { state.syncWaiters = [] }
                    return (keys, state.syncWaiters)
                }
                for waiter in waiters { waiter.resume() }
                for key in keys.sorted() { await changed(key) }
            case .added(let object), .modified(let object):
                let key = Self.key(of: object)
                state.withLock { $0.objects[key] = object }
                await changed(key)
            case .deleted(let object):
                let key = Self.key(of: object)
                state.withLock { _ = $0.objects.removeValue(forKey: key) }
                await changed(key)
            }
        }
    }

    /// Returns once the first list has arrived.
    public func synced() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if state.synced { return true }
                state.syncWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    public var hasSynced: Bool { state.withLock { $0.synced } }

    public func get(_ key: String) -> R? { state.withLock { $0.objects[key] } }

    public func get(name: String, namespace: String?) -> R? { get(Self.key(namespace: namespace, name: name)) }

    public var items: [R] { state.withLock { Array($0.objects.values) } }

    public var count: Int { state.withLock { $0.objects.count } }

    /// What a write returned, put in the cache at once, so the next reconcile does not act on the
    /// copy from before its own write (the watch brings the same version a moment later).
    public func remember(_ object: R) {
        let key = Self.key(of: object)
        state.withLock { state in
            if let known = state.objects[key], let old = known.metadata.resourceVersion.flatMap(Int.init),
                let new = object.metadata.resourceVersion.flatMap(Int.init), old > new
            {
                return
            }
            state.objects[key] = object
        }
    }

    /// Forgets an object the operator just deleted (it may stay a while if it has finalizers; the watch will say).
    public func forget(_ key: String) { state.withLock { _ = $0.objects.removeValue(forKey: key) } }
}

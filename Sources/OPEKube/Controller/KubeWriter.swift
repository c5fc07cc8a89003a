import Foundation
import OPECore
import Synchronization

/// Every write a controller makes goes through here: it refuses to write unless this process
/// leads (checked just before each request, so a deposed leader's last reconcile cannot write
/// late), and counts the writes (the benchmark's writes per object; the crash tests' "killed
/// after its k-th write").
public struct KubeWriter: Sendable {
    /// A write refused because this process does not lead (or was told to stop writing).
    public struct Refused: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public init(reason: String) { self.reason = reason }
        public var description: String { "write refused: \(reason)" }
    }

    private final class Counter: Sendable {
        let state = Mutex<(writes: Int, limit: Int?)>((0, nil))
    }

    public let client: KubeClient
    private let mayWrite: @Sendable () -> Bool
    private let counter = Counter()

    public init(client: KubeClient, mayWrite: @escaping @Sendable () -> Bool = { true }) {
        self.client = client
        self.mayWrite = mayWrite
    }

    /// Writes sent so far (each create, replace, patch and delete, successful or not).
    public var writes: Int { counter.state.withLock { $0.writes } }

    /// After `count` more writes, refuse every later one: what a process killed after its
    /// `count`-th write would do (the write itself reaches the server).
    public func stop(afterWrites count: Int) { counter.state.withLock { $0.limit = $0.writes + count } }

    private func admit() throws {
        guard mayWrite() else { throw Refused(reason: "this process does not hold the lease") }
        try counter.state.withLock { state in
            if let limit = state.limit, state.writes >= limit { throw Refused(reason: "stopped after \(limit) writes") }
            state.writes += 1
        }
    }

    public func create<R: KubeResource>(_ object: R) async throws -> R {
        try admit()
        return try await client.create(object)
    }

    public func replace<R: KubeResource>(_ object: R) async throws -> R {
        try admit()
        return try await client.replace(object)
    }

    public func replaceStatus<R: KubeResource>(_ object: R) async throws -> R {
        try admit()
        return try await client.replaceStatus(object)
    }

    public func patch<R: KubeResource>(_ type: R.Type, name: String, namespace: String?, merge patch: JSONValue, status: Bool = false) async throws -> R {
        try admit()
        return try await client.patch(type, name: name, namespace: namespace, merge: patch, status: status)
    }

    /// Deletes; an object already gone counts as deleted.
    public func delete<R: KubeResource>(_ type: R.Type, name: String, namespace: String?, uid: String? = nil) async throws {
        try admit()
        do {
            try await client.delete(type, name: name, namespace: namespace, uid: uid)
        } catch let error as KubeAPIError where error.isNotFound {
        }
    }

    /// Creates; an object already there (a write of ours whose answer was lost) counts as created.
    @discardableResult
    public func createIfAbsent<R: KubeResource>(_ object: R) async throws -> R? {
        do {
            return try await create(object)
        } catch let error as KubeAPIError where error.isAlreadyExists {
            return nil
        }
    }
}

import Foundation
import Logging
import OPECluster
import OPECore
import OPERuntime
import OPEStore
import OPETestSupport
import ServiceLifecycle
import Synchronization

/// Cores on free loopback ports, each a real ``Runtime`` on its own data dir served by a
/// ``CoreServer``, and an edge's ``ClusterRuntime`` over them. Core 0 is the directory core: it
/// also serves its store's accounts. Time runs on one ``ManualClock``.
final class TestCluster: Sendable {
    static let token = "cluster-test-token"
    static var examples: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/modules").path
    }

    /// One core: its runtime and where it listens.
    final class Core: Sendable {
        let runtime: Runtime
        let folder: String
        let index: Int
        let port: Int
        let stop: @Sendable () async -> Void

        init(runtime: Runtime, folder: String, index: Int, port: Int, stop: @escaping @Sendable () async -> Void) {
            self.runtime = runtime
            self.folder = folder
            self.index = index
            self.port = port
            self.stop = stop
        }
    }

    let clock: ManualClock
    let cores: Mutex<[Core]>
    let count: Int

    init(clock: ManualClock, cores: [Core]) {
        self.clock = clock
        self.cores = Mutex(cores)
        count = cores.count
    }

    /// Starts a core: its runtime's services and its server, in a task the returned core's `stop` ends.
    static func startCore(index: Int, of count: Int, folder: String, port: Int = 0, clock: ManualClock) async throws -> Core {
        let store = try Store(dataDirectory: folder, hasher: PasswordHasher(logN: 8, blockSize: 8, parallelism: 1))
        var configuration = RuntimeConfiguration(moduleFolders: [examples])
        configuration.clock = clock
        configuration.shard = ShardPlace(index: index, of: ShardMap(count: count))
        var logger = Logger(label: "core-\(index)")
        logger.logLevel = .warning
        let runtime = try await Runtime(configuration, store: store, logger: logger)
        let server = CoreServer(
            runtime: runtime, configuration: .init(host: "127.0.0.1", port: port, token: token), accounts: index == 0 ? store : nil, logger: logger)
        let group = ServiceGroup(services: runtime.services + [server], gracefulShutdownSignals: [], logger: logger)
        let task = Task { try await group.run() }
        let bound = try await server.port
        return Core(runtime: runtime, folder: folder, index: index, port: bound) {
            await group.triggerGracefulShutdown()
            _ = await task.result
        }
    }

    /// Runs `body` with `count` cores and an edge's view of them.
    static func run(cores count: Int = 2, _ body: @Sendable (TestCluster, ClusterRuntime) async throws -> Void) async throws {
        let clock = ManualClock()
        var cores: [Core] = []
        for index in 0..<count {
            cores.append(try await startCore(index: index, of: count, folder: NSTemporaryDirectory() + "ope-core-\(UUID().uuidString)", clock: clock))
        }
        let cluster = TestCluster(clock: clock, cores: cores)
        let remotes = try cores.map { try RemoteRuntime(configuration: .init(host: "127.0.0.1", port: $0.port, token: token, deadline: .seconds(60))) }
        defer { for core in cluster.cores.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: core.folder) } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for remote in remotes { group.addTask { try await remote.run() } }
            do {
                try await body(cluster, ClusterRuntime(cores: remotes))
            } catch {
                for remote in remotes { remote.beginGracefulShutdown() }
                for core in cluster.cores.withLock({ $0 }) { await core.stop() }
                throw error
            }
            for remote in remotes { remote.beginGracefulShutdown() }
            for core in cluster.cores.withLock({ $0 }) { await core.stop() }
            try await group.waitForAll()
        }
    }

    func core(_ index: Int) -> Core { cores.withLock { $0[index] } }

    /// Runs `body` with one more edge's view of the cores (its own connections and room streams).
    func withEdge(_ body: @Sendable (ClusterRuntime) async throws -> Void) async throws {
        let remotes = try cores.withLock { $0 }.map {
            try RemoteRuntime(configuration: .init(host: "127.0.0.1", port: $0.port, token: Self.token, deadline: .seconds(60)))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for remote in remotes { group.addTask { try await remote.run() } }
            defer { for remote in remotes { remote.beginGracefulShutdown() } }
            try await body(ClusterRuntime(cores: remotes))
        }
    }

    /// Stops core `index` and starts it again on the same data dir and port.
    func restart(_ index: Int) async throws {
        let old = core(index)
        await old.stop()
        let new = try await Self.startCore(index: index, of: count, folder: old.folder, port: old.port, clock: clock)
        cores.withLock { $0[index] = new }
    }
}

import ArgumentParser
import Foundation
import Logging
import OPECLI
import OPECore
import OPEKube
import OPEOperator
import Synchronization

/// `ope-bench operator`: the operator against a stand-in API server in a child process (`ope kube
/// standin`), with a kubelet that marks pods ready at once.
///
/// - Reconcile throughput: N sessions created at once (as the lobby creates them, finalizer set),
///   the time until every one is Active with a ready workspace, and the operator's writes per
///   session; beside it, the stand-in's raw write rate for the same number of writes.
/// - Memory: the operator's caches holding `--users` OPEUsers and `--cached-sessions` sessions with
///   their pods, Services, Secrets and claims: its resident memory before and after they sync.
struct OperatorBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator", abstract: "Reconcile throughput and cache memory of ope operator against a stand-in API server.")

    @Option(help: "Sessions created at once for the throughput run.") var sessions = 1000
    @Option(help: "OPEUser objects for the memory run.") var users = 10_000
    @Option(help: "Sessions (with their four workspace objects each) for the memory run.") var cachedSessions = 5000
    @Option(help: "Concurrent requests when filling the API server.") var concurrency = 32
    @Option(help: "The ope binary that runs the stand-in (default: beside ope-bench).") var ope: String?
    @Option(help: "The CRDs to install.") var crds = "deploy/kubernetes/crds"

    static let namespace = "ope"

    func run() async throws {
        let executable = try ope ?? LoadTestServer.siblingOPE()
        try await throughput(executable: executable)
        try await memory(executable: executable)
    }

    /// A stand-in in a child process, and a client for it.
    func withStandIn(_ executable: String, _ body: (KubeClient) async throws -> Void) async throws {
        let kubeconfig = NSTemporaryDirectory() + "ope-bench-kube-\(UUID().uuidString).yaml"
        let process = try ChildProcess(executable, arguments: ["kube", "standin", "--port", "0", "--apply", crds, "--write-kubeconfig", kubeconfig])
        defer {
            // Killed: it keeps nothing, and a graceful stop would wait for the watches' connections.
            process.signal(SIGKILL)
            process.blockUntilExit(within: .seconds(30))
            try? FileManager.default.removeItem(atPath: kubeconfig)
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while !FileManager.default.fileExists(atPath: kubeconfig) {
            guard ContinuousClock.now < deadline, process.isRunning else { throw CLIError("the stand-in did not start") }
            try await Task.sleep(for: .milliseconds(50))
        }
        let client = try KubeClient(connection: ClusterConnection.kubeconfig(file: kubeconfig))
        do {
            _ = try await client.create(Namespace(metadata: ObjectMeta(name: Self.namespace)))
            try await body(client)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    /// Runs `make(i)` for i in 0..<count, `concurrency` at a time.
    func fill(_ count: Int, _ make: @escaping @Sendable (Int) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                if index >= concurrency { try await group.next() }
                group.addTask { try await make(index) }
            }
            try await group.waitForAll()
        }
    }

    func user(_ index: Int) -> UserResource {
        UserResource(
            metadata: ObjectMeta(name: "user-\(index)", namespace: Self.namespace), spec: .init(username: "user-\(index)", displayName: "User \(index)"))
    }

    func session(_ index: Int, finalizer: Bool) -> SessionResource {
        var metadata = ObjectMeta(name: "s-\(index)", namespace: Self.namespace)
        if finalizer { metadata.finalizers = [SessionReconciler.finalizer] }
        return SessionResource(
            metadata: metadata,
            spec: .init(
                module: "python-intro", members: [.init(user: "user-\(2 * index)", role: "driver"), .init(user: "user-\(2 * index + 1)", role: "navigator")]))
    }

    func throughput(executable: String) async throws {
        try await withStandIn(executable) { client in
            _ = try await client.create(
                ModuleResource(
                    metadata: ObjectMeta(name: "python-intro", namespace: Self.namespace),
                    spec: .init(title: "Python", kit: "python", tasks: [.init(id: "t", title: "T")])))
            try await fill(2 * sessions) { _ = try await client.create(self.user($0)) }

            // Baseline: the same number of writes (six per session) made by a plain client, concurrently.
            let rawWrites = 6 * sessions
            let rawStart = ContinuousClock.now
            try await fill(rawWrites) { index in
                _ = try await client.create(ConfigMap(metadata: ObjectMeta(name: "raw-\(index)", namespace: Self.namespace), data: ["k": "v"]))
            }
            let raw = ContinuousClock.now - rawStart

            var logger = Logger(label: "ope.bench.operator")
            logger.logLevel = .error
            let op = OperatorService(client: client, configuration: OperatorConfiguration(namespace: Self.namespace), logger: logger)
            let began = ContinuousClock.now
            let elapsed = Mutex<Duration?>(nil)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await op.run() }
                group.addTask { try await Self.kubelet(client) }
                try await fill(sessions) { _ = try await client.create(self.session($0, finalizer: true)) }
                while true {
                    let all = try await client.listAll(SessionResource.self, namespace: Self.namespace).items
                    if all.count == sessions, all.allSatisfy({ $0.status?.phase == .active && $0.status?.workspace?.ready == true }) { break }
                    guard ContinuousClock.now - began < .seconds(600) else { throw CLIError("not all sessions were active after 600 s") }
                    try await Task.sleep(for: .milliseconds(200))
                }
                elapsed.withLock { $0 = ContinuousClock.now - began }
                group.cancelAll()
            }
            let total = try Self.requireValue(elapsed.withLock { $0 })
            let writes = Double(op.writer.writes - op.statusWrites - 2) / Double(sessions)
            printNow(
                """
                operator reconcile throughput (\(sessions) sessions created at once, as the lobby creates them)
                  all Active with a ready workspace after  \(String(format: "%.1f", total.timeInterval)) s   (target < 30 s)
                  operator writes per session              \(String(format: "%.2f", writes))   (target <= 6; +1 for a session applied without the finalizer)
                  and status writes of modules and users   \(String(format: "%.2f", Double(op.statusWrites) / Double(sessions))) per session (each member's current session; the module's live sessions, coalesced)
                  baseline: the stand-in takes \(rawWrites) plain creates in \(String(format: "%.1f", raw.timeInterval)) s (\(Int(Double(rawWrites) / raw.timeInterval))/s); the operator's run took \(String(format: "%.1f", total.timeInterval / raw.timeInterval))x that
                """)
        }
    }

    /// Marks every workspace pod Running and Ready as soon as it is seen.
    static func kubelet(_ client: KubeClient) async throws {
        let watcher = ListWatcher<Pod>(client: client, namespace: namespace)
        for try await event in watcher {
            let pods: [Pod]
            switch event {
            case .listed(let items, _): pods = items
            case .added(let pod): pods = [pod]
            case .modified, .deleted: continue
            }
            for pod in pods where !(pod.status?.isReady ?? false) {
                var ready = pod
                var status = Pod.Status(phase: "Running")
                status.conditions = [.init(type: "Ready", status: "True", lastTransitionTime: Date())]
                ready.status = status
                _ = try? await client.replaceStatus(ready)
            }
        }
    }

    func memory(executable: String) async throws {
        try await withStandIn(executable) { client in
            try await fill(users) { _ = try await client.create(self.user($0)) }
            try await fill(cachedSessions) { index in
                var session = try await client.create(self.session(index, finalizer: true))
                session.status = SessionResource.Status(phase: .active)
                _ = try await client.replaceStatus(session)
                let objects = WorkspaceObjects(
                    session: session,
                    module: ModuleResource(
                        metadata: ObjectMeta(name: "python-intro"), spec: .init(title: "Python", kit: "python", tasks: [.init(id: "t", title: "T")])),
                    configuration: OperatorConfiguration(namespace: Self.namespace))
                _ = try await client.create(objects.pod())
                _ = try await client.create(objects.service())
                _ = try await client.create(objects.secret(token: "t", gradingToken: "g", databasePassword: "p"))
                _ = try await client.create(objects.claim())
            }
            let pid = getpid()
            let sampler = RSSSampler(pid: pid)
            sampler.sample()
            let before = sampler.peak
            let caches = OperatorCaches(client: client, namespace: Self.namespace)
            let began = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await caches.sessions.run { _ in } }
                group.addTask { try await caches.users.run { _ in } }
                group.addTask { try await caches.modules.run { _ in } }
                group.addTask { try await caches.repositories.run { _ in } }
                group.addTask { try await caches.pods.run { _ in } }
                group.addTask { try await caches.services.run { _ in } }
                group.addTask { try await caches.secrets.run { _ in } }
                group.addTask { try await caches.claims.run { _ in } }
                while !caches.synced { try await Task.sleep(for: .milliseconds(100)) }
                let synced = ContinuousClock.now - began
                for _ in 0..<10 {
                    sampler.sample()
                    try await Task.sleep(for: .milliseconds(100))
                }
                let objects =
                    caches.users.count + caches.sessions.count + caches.pods.count + caches.services.count + caches.secrets.count + caches.claims.count
                printNow(
                    """
                    operator cache memory (\(users) OPEUsers, \(cachedSessions) OPESessions with their pods, Services, Secrets and claims: \(objects) objects)
                      resident memory before the caches  \(before / 1024) MiB
                      with every object cached            \(sampler.peak / 1024) MiB   (target < 200 MiB)
                      caches synced in                    \(String(format: "%.1f", synced.timeInterval)) s
                    """)
                group.cancelAll()
            }
        }
    }
}

extension OperatorBench {
    static func requireValue<T>(_ value: T?) throws -> T {
        guard let value else { throw CLIError("no measurement") }
        return value
    }
}

import Foundation
import Logging
import Metrics
import OPECore
import OPEKube
import OPEModules
import ServiceLifecycle
import Synchronization

/// `ope operator`: informers on the four custom resources and the workspace objects, a work queue
/// of sessions, reconcile workers, and leader election over a Lease so that of several replicas
/// only one writes. Every replica keeps its caches warm; the one that takes the lease starts
/// reconciling at once, from a full pass over what it holds.
public final class OperatorService: ServiceLifecycle.Service, Sendable {
    public struct Options: Sendable {
        /// Leader election (nil: this process always leads; for one replica or tests).
        public var election: LeaseElection.Configuration?
        public var leaseName = "ope-operator"
        /// Sessions reconciled at the same time.
        public var workers = 4
        /// How often delayed keys (backoffs, timeouts, culling) are looked at.
        public var tick: Duration = .milliseconds(100)

        public init(election: LeaseElection.Configuration? = nil) { self.election = election }
    }

    public let configuration: OperatorConfiguration
    public let caches: OperatorCaches
    public let writer: KubeWriter
    public let queue = WorkQueue()
    /// Module and user statuses to write (a third line: they follow the sessions, never hold them up).
    public let statusQueue = WorkQueue()
    /// Repositories to sync (a second line, so a slow git fetch never holds a session back).
    public let repositoryQueue = WorkQueue(backoff: RetryPolicy(maxAttempts: .max, baseDelay: .seconds(1), maxDelay: .seconds(300)))
    public let gate: LeadershipGate
    public let elector: LeaderElector?
    let options: Options
    let clock: any PlatformClock
    let logger: Logger
    let reconciles = Counter(label: "ope_operator_reconciles_total")
    private let passCount = Mutex(0)
    /// Reconcile passes finished (successful or not): tests and the benchmark wait on it.
    public var passes: Int { passCount.withLock { $0 } }
    /// Of the writer's writes, those of module and user statuses.
    public var statusWrites: Int { statuses.withLock { $0 } }
    let statuses = Mutex(0)
    let failures = Counter(label: "ope_operator_reconcile_errors_total")

    public init(
        client: KubeClient, configuration: OperatorConfiguration, options: Options = Options(), clock: any PlatformClock = SystemClock(),
        logger: Logger = Logger(label: "ope.operator")
    ) {
        self.configuration = configuration
        self.options = options
        self.clock = clock
        self.logger = logger
        caches = OperatorCaches(client: client, namespace: configuration.namespace)
        if let election = options.election {
            let elector = LeaderElector(
                client: client, namespace: configuration.namespace, name: options.leaseName, configuration: election, clock: clock, logger: logger)
            let gate = LeadershipGate()
            self.elector = elector
            self.gate = gate
            writer = KubeWriter(client: client) { elector.isLeader }
        } else {
            elector = nil
            gate = LeadershipGate(leading: true)
            writer = KubeWriter(client: client)
        }
    }

    /// Whether the caches have had their first lists (the readiness probe).
    public var isReady: Bool { caches.synced }

    /// Runs until a graceful shutdown or cancellation (once: a stopped operator is not started again).
    public func run() async throws {
        let controller = SessionController(
            reconciler: SessionReconciler(configuration: configuration), caches: caches, writer: writer, queue: queue, clock: clock, logger: logger)
        let repositories = RepositoryController(
            caches: caches, writer: writer, queue: repositoryQueue,
            sync: RepositorySyncService(root: configuration.cacheDirectory + "/repositories", logger: logger), clock: clock, logger: logger)
        let statuses = StatusController(caches: caches, writer: writer, clock: clock, scratch: configuration.cacheDirectory + "/modules") {
            self.statuses.withLock { $0 += 1 }
        }
        let sessionsKey: @Sendable (String?, String?) -> String? = { namespace, name in
            name.map { Informer<SessionResource>.key(namespace: namespace, name: $0) }
        }
        await withDiscardingTaskGroup { group in
            group.addTask {
                await self.follow(self.caches.sessions) { key in
                    for status in statuses.keys(forSession: key) { await self.statusQueue.add(status) }
                    return [key]
                }
            }
            // A workspace object's change is its session's.
            group.addTask { await self.follow(self.caches.pods) { key in self.owner(of: self.caches.pods.get(key), key: key, sessionsKey) } }
            group.addTask { await self.follow(self.caches.services) { key in self.owner(of: self.caches.services.get(key), key: key, sessionsKey) } }
            group.addTask { await self.follow(self.caches.secrets) { key in self.owner(of: self.caches.secrets.get(key), key: key, sessionsKey) } }
            group.addTask { await self.follow(self.caches.claims) { key in self.owner(of: self.caches.claims.get(key), key: key, sessionsKey) } }
            // A module or user appearing lets waiting sessions start.
            group.addTask {
                await self.follow(self.caches.modules) { key in
                    await self.statusQueue.add("module:" + key)
                    return self.waitingSessions()
                }
            }
            group.addTask {
                await self.follow(self.caches.users) { key in
                    await self.statusQueue.add("user:" + key)
                    return self.waitingSessions()
                }
            }
            group.addTask { await self.follow(self.caches.repositories, into: self.repositoryQueue) { [$0] } }
            if let elector {
                elector.onChange { leading in self.gate.set(leading) }
                group.addTask { await elector.run() }
            }
            group.addTask { await self.promoteDelayedKeys() }
            for _ in 0..<max(1, options.workers) {
                group.addTask { await self.work(self.queue) { try await controller.reconcile($0) } }
            }
            group.addTask { await self.work(self.repositoryQueue) { try await repositories.reconcile($0) } }
            group.addTask { await self.work(self.statusQueue) { try await statuses.reconcile($0) } }
            group.addTask { await self.resyncOnLeadership() }
            // Until shutdown; then everything above ends. On a graceful one (not a kill) a leader
            // stops writing first and gives the lease up, so another replica takes over at once.
            let graceful = (try? await gracefulShutdown()) != nil
            self.gate.close()
            await self.queue.close()
            await self.repositoryQueue.close()
            await self.statusQueue.close()
            if graceful, let elector { await elector.release() }
            group.cancelAll()
        }
    }

    private func follow<R: KubeResource>(_ informer: Informer<R>, into queue: WorkQueue? = nil, keys: @escaping @Sendable (String) async -> [String]) async {
        let queue = queue ?? self.queue
        do {
            try await informer.run { key in
                for target in await keys(key) { await queue.add(target) }
            }
        } catch {
            if !Task.isCancelled { logger.error("informer stopped", metadata: ["resource": "\(R.resource.plural)", "error": "\(error)"]) }
        }
    }

    private func owner<R: KubeResource>(of object: R?, key: String, _ sessionsKey: (String?, String?) -> String?) -> [String] {
        // A deleted object is gone from the cache: its name says whose it was.
        if let object {
            return sessionsKey(object.namespace, object.metadata.labels?["ope.dev/session"]).map { [$0] } ?? []
        }
        let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return [] }
        return caches.sessions.items.filter { WorkspaceNames(session: $0.name).owns(parts[1]) && $0.namespace == parts[0] }.map {
            Informer<SessionResource>.key(of: $0)
        }
    }

    private func waitingSessions() -> [String] {
        caches.sessions.items.filter { $0.status?.phase == nil || $0.status?.phase == .pending }.map { Informer<SessionResource>.key(of: $0) }
    }

    private func promoteDelayedKeys() async {
        while !Task.isCancelled {
            await queue.promote(now: clock.now)
            await repositoryQueue.promote(now: clock.now)
            await statusQueue.promote(now: clock.now)
            do { try await clock.sleep(for: options.tick) } catch { return }
        }
    }

    /// Every time this process starts leading, every session gets a pass (what happened while
    /// another replica led, or while nobody did, is seen at once).
    private func resyncOnLeadership() async {
        while !Task.isCancelled {
            await gate.waitUntilLeading()
            guard !Task.isCancelled, gate.isLeading else { return }
            var attempt = 0
            while await !ensureShared(), gate.isLeading {
                attempt += 1
                do { try await clock.sleep(for: queue.backoff.delay(afterAttempt: attempt, retryAfterSeconds: nil)) } catch { return }
            }
            for session in caches.sessions.items { await queue.add(Informer<SessionResource>.key(of: session)) }
            for repository in caches.repositories.items { await repositoryQueue.add(Informer<RepositoryResource>.key(of: repository)) }
            for module in caches.modules.items { await statusQueue.add(StatusController.moduleKey(module)) }
            for user in caches.users.items { await statusQueue.add(StatusController.userKey(user)) }
            // Wait for the end of this leadership before the next resync.
            while gate.isLeading, !Task.isCancelled {
                do { try await clock.sleep(for: .milliseconds(200)) } catch { return }
            }
        }
    }

    private func work(_ queue: WorkQueue, _ reconcile: @Sendable (String) async throws -> Void) async {
        while !Task.isCancelled {
            await gate.waitUntilLeading()
            guard let key = await queue.next() else { return }
            guard gate.isLeading, caches.synced else {
                await queue.done(key)
                await queue.add(key, at: clock.now.addingTimeInterval(0.2))
                continue
            }
            reconciles.increment()
            do {
                try await reconcile(key)
                await queue.forget(key)
            } catch {
                failures.increment()
                let delay = await queue.retry(key, now: clock.now, retryAfterSeconds: (error as? KubeAPIError)?.retryAfterSeconds)
                logger.debug("reconcile failed", metadata: ["session": "\(key)", "error": "\(error)", "retry": "\(delay)"])
            }
            passCount.withLock { $0 += 1 }
            await queue.done(key)
        }
    }

    /// The installation's shared objects: the workspaces' network policy and JupyterLab
    /// configuration (read first, so a new leader writes only what is missing).
    func ensureShared() async -> Bool {
        do {
            let namespace = configuration.namespace
            if try await absent(NetworkPolicy.self, WorkspaceNames.networkPolicy, namespace) {
                try await writer.createIfAbsent(WorkspaceObjects.networkPolicy(configuration: configuration))
            }
            if try await absent(ConfigMap.self, WorkspaceNames.jupyterConfig, namespace) {
                try await writer.createIfAbsent(WorkspaceObjects.jupyterConfigMap(configuration: configuration))
            }
            return true
        } catch {
            logger.warning("could not create the shared workspace objects", metadata: ["error": "\(error)"])
            return false
        }
    }

    private func absent<R: KubeResource>(_ type: R.Type, _ name: String, _ namespace: String) async throws -> Bool {
        do {
            _ = try await writer.client.get(type, name: name, namespace: namespace)
            return false
        } catch let error as KubeAPIError where error.isNotFound {
            return true
        }
    }
}

import Foundation
import Logging
import OPECore
import OPEGrading
import OPEKube
import Synchronization

/// Workspaces on Kubernetes: a session's workspace is an `OPESession` object, which the operator
/// turns into a pod, Service, Secret and volume (see `ope operator`). Starting one creates the
/// object (with the operator's finalizer, so nothing of it can leak) and waits until its status
/// says the workspace is ready; the proxy then reaches it at the endpoint the status gives, with
/// the token from the session's Secret.
///
/// The operator owns the pods: it replaces one that fails and culls an idle one, so this backend
/// reports no exits of its own; it stamps members' activity on the object (throttled) for the
/// culling, and a workspace outlives this process (a gateway restart cuts no team off).
public final class KubernetesWorkspaceBackend: WorkspaceBackend {
    public struct Configuration: Sendable {
        public var namespace: String
        /// How long a start waits for the operator's ready status.
        public var startTimeout: Duration = .seconds(360)
        /// Activity is stamped at most this often per session.
        public var activityInterval: Duration = .seconds(60)
        /// Maps the endpoint the status gives (`http://ws-….<ns>.svc:8888/w/…/`) to where this
        /// process reaches it: the identity in a cluster; tests point it at a local JupyterLab.
        public var resolve: @Sendable (String) -> String = { $0 }
        /// The grading service's port in a workspace pod.
        public var gradingPort = 50051
        /// Maps the grading service's address (`ws-….<ns>.svc`, the port) the same way.
        public var resolveGrading: @Sendable (_ host: String, _ port: Int) -> (host: String, port: Int) = { ($0, $1) }

        public init(namespace: String) { self.namespace = namespace }
    }

    /// Who created a session object, so an operator-side or kubectl-made one is told apart.
    public static let createdByLabel = "app.kubernetes.io/created-by"

    private struct State {
        var ready: [String: Workspace] = [:]
        var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]
        var stamped: [String: Date] = [:]
        var pendingStamps: [String: Date] = [:]
    }

    let client: KubeClient
    let configuration: Configuration
    let informer: Informer<SessionResource>
    let logger: Logger
    private let state = Mutex(State())
    private let stampSignal: AsyncStream<Void>.Continuation
    private let stampSignals: AsyncStream<Void>
    public let exits: AsyncStream<WorkspaceExit>
    public let notices: AsyncStream<WorkspaceNotice>

    public init(client: KubeClient, configuration: Configuration, logger: Logger = Logger(label: "ope.workspaces.kubernetes")) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
        informer = Informer(watcher: ListWatcher<SessionResource>(client: client, namespace: configuration.namespace))
        (stampSignals, stampSignal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        // The operator handles crashes and limits (pods restart, conditions say why).
        exits = AsyncStream { $0.finish() }
        notices = AsyncStream { $0.finish() }
    }

    public func start(_ request: WorkspaceRequest) async throws -> Workspace {
        let name = request.session
        if informer.get(name: name, namespace: configuration.namespace) == nil {
            var metadata = ObjectMeta(
                name: name, namespace: configuration.namespace, labels: [Self.createdByLabel: "ope-gateway", "ope.dev/module": request.module.id])
            // Set at creation, so the operator need not add it (one write less per session).
            metadata.finalizers = [WorkspaceNames.finalizer]
            metadata.annotations = [WorkspaceNames.lastActivityAnnotation: Self.timestamp(Date())]
            let session = SessionResource(
                metadata: metadata,
                spec: .init(
                    module: request.module.id, members: request.members.map { .init(user: $0.user, role: $0.role) },
                    mode: request.module.matching.mode.rawValue, condition: request.condition))
            do {
                informer.remember(try await client.create(session))
            } catch let error as KubeAPIError where error.isAlreadyExists {
                // Made before (a restart of this process): wait for it as it is.
            }
        } else {
            // A workspace asked for again (a member came back to a culled one): say so now.
            try? await stamp(name, at: Date())
        }
        let deadline = ContinuousClock.now + configuration.startTimeout
        while true {
            if let session = informer.get(name: name, namespace: configuration.namespace) {
                if let workspace = try await workspace(of: session) { return workspace }
                if let ready = session.status?.conditions?["Ready"], ready.reason == "WorkspaceFailed" || ready.reason == "SessionEnded" {
                    throw WorkspaceError("the workspace could not start: \(ready.message ?? ready.reason ?? "")")
                }
                if let module = session.status?.conditions?["ModuleFound"], module.status == "False" {
                    throw WorkspaceError("the workspace could not start: \(module.message ?? "")")
                }
            }
            guard ContinuousClock.now < deadline else {
                throw WorkspaceError(
                    "the workspace was not ready within \(DurationText.text(configuration.startTimeout)); the operator's conditions on OPESession \(name) say why"
                )
            }
            await waitForChange(name, until: deadline)
        }
    }

    /// The workspace of a session whose status says ready, with its token.
    private func workspace(of session: SessionResource) async throws -> Workspace? {
        guard session.status?.workspace?.ready == true, let endpoint = session.status?.workspace?.endpoint else { return nil }
        if let known = state.withLock({ $0.ready[session.name] }), known.url == configuration.resolve(endpoint) { return known }
        let secretName = WorkspaceNames(session: session.name).secret
        let secret = try await client.get(Secret.self, name: secretName, namespace: configuration.namespace)
        guard let token = secret.value("token") else { throw WorkspaceError("the workspace's Secret \(secretName) has no token") }
        let workspace = Workspace(id: session.name, session: session.name, url: configuration.resolve(endpoint), token: token, directory: "")
        state.withLock { $0.ready[session.name] = workspace }
        return workspace
    }

    private func waitForChange(_ session: String, until deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    self.state.withLock { $0.waiters[session, default: []].append(continuation) }
                }
            }
            group.addTask {
                // A bound on each wait, so a missed wake-up costs a second, not the start.
                try? await Task.sleep(until: min(deadline, ContinuousClock.now + .seconds(1)))
                self.wake(session)
            }
            await group.next()
            group.cancelAll()
            await group.waitForAll()
        }
    }

    private func wake(_ session: String) {
        let waiters = state.withLock { $0.waiters.removeValue(forKey: session) ?? [] }
        for waiter in waiters { waiter.resume() }
    }

    /// Restart: the pod goes; the operator makes a new one on the same files.
    public func stop(session: String) async {
        state.withLock { _ = $0.ready.removeValue(forKey: session) }
        do {
            let pod = informer.get(name: session, namespace: configuration.namespace)?.status?.workspace?.pod ?? WorkspaceNames(session: session).pod
            try await client.delete(Pod.self, name: pod, namespace: configuration.namespace)
        } catch {
            logger.debug("workspace pod not deleted", metadata: ["session": "\(session)", "error": "\(error)"])
        }
    }

    /// The session is over: its phase says so, and the operator releases the pod (the files stay until the object is deleted).
    public func finish(session: String) async {
        state.withLock { _ = $0.ready.removeValue(forKey: session) }
        do {
            try await client.updateStatus(SessionResource.self, name: session, namespace: configuration.namespace) { object in
                var status = object.status ?? SessionResource.Status()
                guard status.phase != .completed, status.phase != .abandoned else { return }
                status.phase = .completed
                status.endedAt = Date()
                object.status = status
            }
        } catch {
            logger.warning("could not mark the session completed", metadata: ["session": "\(session)", "error": "\(error)"])
        }
    }

    public func workspace(session: String) async -> Workspace? { state.withLock { $0.ready[session] } }

    /// Runs a task's tests in the grading container of the session's workspace pod (over gRPC,
    /// with the token of the session's Secret): the team's files and the hidden tests are there.
    public func grade(_ request: GradingRequest) async throws -> GradingResult {
        guard let session = informer.get(name: request.session, namespace: configuration.namespace), session.status?.workspace?.ready == true else {
            throw WorkspaceError("the workspace is not running; open it and try again")
        }
        let names = WorkspaceNames(session: session.name)
        let service = session.status?.workspace?.service ?? names.service
        let secret = try await client.get(Secret.self, name: names.secret, namespace: configuration.namespace)
        guard let token = secret.value("grading-token") else { throw WorkspaceError("the workspace's Secret has no grading token") }
        let (host, port) = configuration.resolveGrading("\(service).\(configuration.namespace).svc", configuration.gradingPort)
        return try await withGradingClient(.init(host: host, port: port, token: token)) { try await $0.runTests(request) }
    }

    public func noteActivity(session: String, at time: Date) {
        let due = state.withLock { state -> Bool in
            let last = state.stamped[session] ?? .distantPast
            guard time.timeIntervalSince(last) >= configuration.activityInterval.timeInterval else { return false }
            state.stamped[session] = time
            state.pendingStamps[session] = time
            return true
        }
        if due { stampSignal.yield() }
    }

    private func stamp(_ session: String, at time: Date) async throws {
        _ = try await client.patch(
            SessionResource.self, name: session, namespace: configuration.namespace,
            merge: ["metadata": ["annotations": [.init(stringLiteral: WorkspaceNames.lastActivityAnnotation): .string(Self.timestamp(time))]]])
    }

    static func timestamp(_ date: Date) -> String { date.formatted(.iso8601) }

    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                do {
                    try await self.informer.run { key in
                        let name = String(key.split(separator: "/").last ?? "")
                        // A session no longer ready (culled, restarting) is not routed to.
                        if let session = self.informer.get(key), session.status?.workspace?.ready != true {
                            self.state.withLock { _ = $0.ready.removeValue(forKey: name) }
                        }
                        self.wake(name)
                    }
                } catch {
                    if !Task.isCancelled { self.logger.error("session watch stopped", metadata: ["error": "\(error)"]) }
                }
            }
            group.addTask {
                for await _ in self.stampSignals {
                    let stamps = self.state.withLock { state -> [String: Date] in
                        defer { state.pendingStamps = [:] }
                        return state.pendingStamps
                    }
                    for (session, time) in stamps { try? await self.stamp(session, at: time) }
                }
            }
        }
    }

    /// Workspaces outlive this process: a gateway that stops cuts no team off.
    public func stopAll() async { stampSignal.finish() }
}

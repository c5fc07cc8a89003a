import Foundation
import KubeStandIn
import KubeTestSupport
import Logging
import OPECore
import OPEKube
import OPETestSupport

@testable import OPEOperator

/// A stand-in cluster with OPE's CRDs, the `ope` namespace, a module and its users: what the
/// operator tests start from; and the operator and kubelet running against it.
struct OperatorCluster: Sendable {
    static let namespace = "ope"
    let server: StandInServer
    let kube: KubeClient

    /// Runs `body` against a fresh cluster.
    static func run(_ body: @Sendable (OperatorCluster) async throws -> Void) async throws {
        try await StandInHarness.run { server, _, kube in
            let cluster = OperatorCluster(server: server, kube: kube)
            try await cluster.seed()
            try await body(cluster)
        }
    }

    func seed() async throws {
        _ = try await kube.create(Namespace(metadata: ObjectMeta(name: Self.namespace)))
        _ = try await kube.create(
            ModuleResource(
                metadata: ObjectMeta(name: "python-intro", namespace: Self.namespace),
                spec: .init(title: "Python intro", kit: "python", tasks: [.init(id: "stats", title: "Text statistics", instructions: "Count words.")])))
        for user in ["alice", "bob", "carol", "dave"] { try await addUser(user) }
    }

    func addUser(_ name: String) async throws {
        _ = try await kube.create(
            UserResource(
                metadata: ObjectMeta(name: UserResource.objectName(username: name), namespace: Self.namespace),
                spec: .init(username: name, displayName: name.capitalized)))
    }

    static func session(_ name: String, module: String = "python-intro", members: [String] = ["alice", "bob"]) -> SessionResource {
        SessionResource(
            metadata: ObjectMeta(name: name, namespace: Self.namespace),
            spec: .init(module: module, members: members.enumerated().map { .init(user: $1, role: $0 == 0 ? "driver" : "navigator") }, mode: "static"))
    }

    @discardableResult
    func createSession(_ name: String, module: String = "python-intro", members: [String] = ["alice", "bob"]) async throws -> SessionResource {
        try await kube.create(Self.session(name, module: module, members: members))
    }

    func session(_ name: String) async throws -> SessionResource { try await kube.get(SessionResource.self, name: name, namespace: Self.namespace) }

    func makeOperator(election: LeaseElection.Configuration? = nil, clock: any PlatformClock = SystemClock()) -> OperatorService {
        var logger = Logger(label: "ope.operator.test")
        logger.logLevel = .warning
        var options = OperatorService.Options(election: election)
        options.tick = .milliseconds(20)
        return OperatorService(client: kube, configuration: OperatorConfiguration(namespace: Self.namespace), options: options, clock: clock, logger: logger)
    }

    func kubelet(start: @escaping @Sendable (Pod) async throws -> Bool = { _ in true }) -> KubeletHarness {
        KubeletHarness(client: kube, namespace: Self.namespace, start: start)
    }

    /// Runs the operators and the kubelet while `body` runs; then stops them (as a kill would: no goodbye).
    func running(_ operators: [OperatorService], kubelet: KubeletHarness?, _ body: @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for op in operators { group.addTask { try await op.run() } }
            if let kubelet { group.addTask { try? await kubelet.run() } }
            do {
                try await body()
            } catch {
                group.cancelAll()
                await server.store.dropWatches()
                throw error
            }
            group.cancelAll()
            await server.store.dropWatches()
            try await group.waitForAll()
        }
    }

    /// Every object of the namespace by kind, as names (the leak check), and each session's outcome.
    struct Snapshot: Equatable, CustomStringConvertible {
        var objects: [String: [String]]
        var sessions: [String: String]
        var description: String { "objects: \(objects.sorted { $0.key < $1.key }) sessions: \(sessions.sorted { $0.key < $1.key })" }
    }

    func snapshot() async throws -> Snapshot {
        func names<R: KubeResource>(_ type: R.Type) async throws -> [String] {
            try await kube.listAll(type, namespace: Self.namespace).items.map(\.name).sorted()
        }
        let sessions = try await kube.listAll(SessionResource.self, namespace: Self.namespace).items
        var outcome: [String: String] = [:]
        for session in sessions {
            let conditions = (session.status?.conditions ?? []).map { "\($0.type)=\($0.status)/\($0.reason ?? "")" }.sorted().joined(separator: ",")
            outcome[session.name] =
                "\(session.status?.phase?.rawValue ?? "-") ready=\(session.status?.workspace?.ready ?? false) restarts=\(session.status?.workspace?.restarts ?? 0) "
                + "finalizers=\(session.metadata.finalizers ?? []) \(conditions)"
        }
        return Snapshot(
            objects: [
                "pods": try await names(Pod.self), "services": try await names(Service.self), "secrets": try await names(Secret.self),
                "claims": try await names(PersistentVolumeClaim.self), "policies": try await names(NetworkPolicy.self),
                "configmaps": try await names(ConfigMap.self),
            ], sessions: outcome)
    }

    /// Every named session is Active with a ready workspace.
    func allActive(_ names: [String]) async throws -> Bool {
        for name in names {
            let session = try await session(name)
            guard session.status?.phase == .active, session.status?.workspace?.ready == true else { return false }
        }
        return true
    }
}

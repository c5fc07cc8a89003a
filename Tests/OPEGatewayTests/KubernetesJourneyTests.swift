import Foundation
import HTTPTypes
import HummingbirdTesting
import KubeStandIn
import KubeTestSupport
import Logging
import NIOCore
import OPECore
import OPEGateway
import OPEGrading
import OPEKube
import OPEModules
import OPEOperator
import OPERuntime
import OPEStore
import OPETestSupport
import OPEWorkspaces
import Synchronization
import Testing

/// The whole pairing journey through the Kubernetes backend: a stand-in API server, the operator,
/// a kubelet that backs each workspace pod with a real JupyterLab, and a gateway whose accounts,
/// modules and workspaces are objects of the cluster.
@Suite struct KubernetesJourneyTests {
    static let namespace = "ope"

    /// Plays the kubelet with real JupyterLabs: for each workspace pod, a JupyterLab on a free
    /// loopback port with the pod's base path and its Secret's token, on a folder that stands for
    /// the team's volume claim (seeded, like the pod's init container, with the starter files the
    /// pod's volume lists), ready once it answers.
    final class JupyterKubelet: Sendable {
        let venv: String
        let root: String
        let kube: KubeClient
        let servers = Mutex<[String: (port: Int, process: ChildProcess)]>([:])
        /// The pods' grading containers: a grading service per session on its own port.
        let graders = Mutex<[String: (port: Int, task: Task<Void, any Error>)]>([:])

        init(venv: String, kube: KubeClient) {
            self.venv = venv
            self.kube = kube
            root = NSTemporaryDirectory() + "ope-kubelet-\(UUID().uuidString.prefix(8))"
        }

        func start(_ pod: Pod) async throws -> Bool {
            guard let session = pod.metadata.labels?["ope.dev/session"], let module = pod.metadata.labels?["ope.dev/module"] else { return false }
            let token = try #require(
                try await kube.get(Secret.self, name: WorkspaceNames(session: session).secret, namespace: KubernetesJourneyTests.namespace).value("token"))
            let home = root + "/" + session
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: home + "/.ope-seeded") {
                let starters = Self.starterItems(pod)
                let bundle = try? await kube.get(ConfigMap.self, name: WorkspaceNames.moduleFiles(module), namespace: KubernetesJourneyTests.namespace)
                let files = ModuleBundle.decode(bundle?.binaryData ?? [:]).filter { starters.contains($0.key) }
                for (path, data) in files { try data.write(to: URL(fileURLWithPath: home + "/" + path)) }
                FileManager.default.createFile(atPath: home + "/.ope-seeded", contents: nil)
            }
            try await startGrading(pod, session: session, module: module, home: home)
            let port = try LoopbackPort.free()
            var arguments = [
                "--no-browser", "--ip=127.0.0.1", "--port=\(port)", "--ServerApp.base_url=/w/\(session)/", "--ServerApp.root_dir=\(home)",
                "--IdentityProvider.token=\(token)", "--ServerApp.jpserver_extensions={'jupyter_lsp': False}",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ]
            if geteuid() == 0 { arguments.append("--allow-root") }
            let process = try ChildProcess(
                venv + "/bin/jupyter-lab", arguments: arguments,
                environment: ["PATH": venv + "/bin:/usr/bin:/bin", "HOME": home, "JUPYTER_RUNTIME_DIR": home + "/.runtime"])
            servers.withLock { $0[session] = (port, process) }
            try await waitUntil("JupyterLab of \(session) answers", timeout: .seconds(180)) {
                guard let connection = try? RawConnection(port: port) else { return false }
                defer { connection.close() }
                try connection.send("GET /w/\(session)/api HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                _ = try await connection.readUntilClosed(timeout: .seconds(20))
                return connection.status == 200
            }
            return true
        }

        /// The grading container: the team's folder and, apart from it, the hidden tests the pod's
        /// `tests` volume lists (from the module's tests Secret), served with the Secret's token.
        func startGrading(_ pod: Pod, session: String, module: String, home: String) async throws {
            let token = try #require(
                try await kube.get(Secret.self, name: WorkspaceNames(session: session).secret, namespace: KubernetesJourneyTests.namespace).value(
                    "grading-token"))
            let tests = root + "/" + session + "-tests"
            let secret = try await kube.get(Secret.self, name: WorkspaceNames.moduleTests(module), namespace: KubernetesJourneyTests.namespace)
            try ModuleBundle.write(ModuleBundle.decode(secret.data ?? [:]), into: tests)
            let port = try LoopbackPort.free()
            let runner = GradingRunner(configuration: .init(filesFolder: home, testsFolder: tests, scratchFolder: root))
            let server = GradingServer(runner: runner, configuration: .init(host: "127.0.0.1", port: port, token: token))
            let task = Task { try await server.run() }
            graders.withLock { $0[session] = (port, task) }
        }

        func resolveGrading(_ host: String, _ port: Int) -> (host: String, port: Int) {
            let session = String(host.split(separator: ".").first ?? "").replacingOccurrences(of: "ws-", with: "", options: .anchored)
            return ("127.0.0.1", graders.withLock { $0[session]?.port } ?? port)
        }

        /// The starter files the pod's `starter` volume lists.
        static func starterItems(_ pod: Pod) -> Set<String> {
            let volumes = pod.spec.objectValue?["volumes"]?.arrayValue ?? []
            let starter = volumes.first { $0.objectValue?["name"]?.stringValue == "starter" }
            let items = starter?.objectValue?["configMap"]?.objectValue?["items"]?.arrayValue ?? []
            return Set(items.compactMap { $0.objectValue?["path"]?.stringValue })
        }

        /// Where the gateway reaches a workspace: the cluster's Service name stands for this JupyterLab's port.
        func resolve(_ endpoint: String) -> String {
            guard let range = endpoint.range(of: "/w/") else { return endpoint }
            let session = endpoint[range.upperBound...].split(separator: "/").first.map(String.init) ?? ""
            guard let port = servers.withLock({ $0[session]?.port }) else { return endpoint }
            return "http://127.0.0.1:\(port)" + endpoint[range.lowerBound...]
        }

        func stopAll() {
            for (_, grader) in graders.withLock({ $0 }) { grader.task.cancel() }
            // Killed, as a node would kill a pod's containers past their grace period.
            for (_, server) in servers.withLock({ $0 }) {
                server.process.signal(SIGKILL)
                server.process.blockUntilExit(within: .seconds(30))
            }
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    static func user(_ name: String, role: String, hash: String) -> (UserResource, Secret) {
        var user = UserResource(metadata: ObjectMeta(name: name, namespace: namespace), spec: .init(username: name, displayName: name.capitalized, role: role))
        user.spec.passwordSecretRef = SecretReference(name: "ope-user-\(name)")
        return (user, Secret(metadata: ObjectMeta(name: "ope-user-\(name)", namespace: namespace), stringData: ["password-hash": hash]))
    }

    func events(_ store: Store, _ session: String) async throws -> [Event] { try await store.reader.events(EventFilter(session: session)) }

    @Test func aPairWorksInAWorkspacePodThroughTheKubernetesBackend() async throws {
        let venv = try TestGateway.venv
        let git = try GitRepository()
        defer { git.remove() }
        try await StandInHarness.run { server, _, kube in
            _ = try await kube.create(Namespace(metadata: ObjectMeta(name: Self.namespace)))
            let hash = try PasswordHasher(logN: 8, blockSize: 8, parallelism: 1).hash(TestGateway.password)
            for (name, role) in [("alice", "participant"), ("bob", "participant"), ("teacher", "instructor")] {
                let (user, secret) = Self.user(name, role: role, hash: hash)
                _ = try await kube.create(secret)
                _ = try await kube.create(user)
            }
            _ = try await kube.create(
                RepositoryResource(metadata: ObjectMeta(name: "course", namespace: Self.namespace), spec: .init(url: git.url, ref: "main", path: "modules")))

            var logger = Logger(label: "ope.test.operator")
            logger.logLevel = .warning
            let op = OperatorService(client: kube, configuration: OperatorConfiguration(namespace: Self.namespace), logger: logger)
            let jupyter = JupyterKubelet(venv: venv, kube: kube)
            defer { jupyter.stopAll() }
            let kubelet = KubeletHarness(client: kube, namespace: Self.namespace) { pod in try await jupyter.start(pod) }

            let folder = NSTemporaryDirectory() + "ope-gateway-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try FileManager.default.createDirectory(atPath: folder + "/kubernetes-modules", withIntermediateDirectories: true)
            OPEMetrics.bootstrap()
            let store = try Store(dataDirectory: folder, hasher: PasswordHasher(logN: 8, blockSize: 8, parallelism: 1))
            var configuration = GatewayConfiguration(host: "127.0.0.1", port: 0, dataDirectory: folder, moduleFolders: [folder + "/kubernetes-modules"])
            configuration.connections.readTimeout = TestGateway.keepAlive
            configuration.connections.headerTimeout = TestGateway.keepAlive
            configuration.runtime.kubernetes = .init(client: kube, namespace: Self.namespace)
            var backend = KubernetesWorkspaceBackend.Configuration(namespace: Self.namespace)
            backend.resolve = { jupyter.resolve($0) }
            backend.resolveGrading = { jupyter.resolveGrading($0, $1) }
            let workspaces = KubernetesWorkspaceBackend(client: kube, configuration: backend)
            configuration.runtime.workspaceBackend = workspaces
            configuration.runtime.grading = { try await workspaces.grade($0) }
            configuration.runtime.workspaces = .init(maxConcurrentStarts: 8, idleTimeout: nil)
            configuration.runtime.clock = ManualClock()
            let (app, gateway) = try await buildApplication(configuration, store: store)

            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await op.run() }
                group.addTask { try? await kubelet.run() }
                try await app.testLive { client in
                    // Accounts and the module arrive from their objects.
                    try await waitUntil("the accounts and their password hashes") {
                        try await store.users.passwordHash("bob")?.hasPrefix("$scrypt$") == true
                    }
                    try await waitUntil("python-intro is loaded from its OPEModule") { await gateway.catalog.modules.contains { $0.id == "python-intro" } }
                    let module = try #require(await gateway.catalog.modules.first { $0.id == "python-intro" })
                    #expect(module.botPlan != nil, "the plan came with the module's files")

                    let (alice, bob, session) = try await client.pair()
                    try await waitUntil("the workspace is started", timeout: .seconds(240)) {
                        try await self.events(store, session).contains { $0.type == .workspaceStarted }
                    }
                    let object = try await kube.get(SessionResource.self, name: session, namespace: Self.namespace)
                    #expect(object.spec.members.map(\.user).sorted() == ["alice", "bob"])
                    #expect(object.status?.phase == .active)
                    #expect(object.metadata.finalizers == [SessionReconciler.finalizer])

                    // Through the proxy, with the members' cookies; the starter files are there and the token is not.
                    let contents = try await client.get("/w/\(session)/api/contents", headers: alice.headers)
                    #expect(contents.status == .ok)
                    let listing = String(buffer: contents.body)
                    #expect(listing.contains("\"rle.py\"") && listing.contains("\"text_stats.py\""), "\(listing.prefix(400))")
                    #expect(!listing.contains("test_rle.py"), "a hidden test reached the team's files")
                    let token = try #require(
                        try await kube.get(Secret.self, name: WorkspaceNames(session: session).secret, namespace: Self.namespace).value("token"))
                    #expect(!listing.contains(token))
                    #expect(try await client.get("/w/\(session)/lab", headers: bob.headers).status == .ok)
                    let carol = try await client.get("/w/\(session)/api/contents")
                    #expect(carol.status == .unauthorized)

                    // Task tests run over gRPC in the pod's grading container, with the hidden tests only it has.
                    let failing = try await client.postWaiting("/api/sessions/\(session)/tests", json: ["task": "run-length"], headers: alice.writeHeaders)
                    #expect(failing.status == .ok, "\(String(buffer: failing.body))")
                    #expect(try failing.json()["passed"] as? Bool == false)
                    let solution = try String(contentsOfFile: TestGateway.examples + "/python-intro/solution/rle.py", encoding: .utf8)
                    let saved = try await client.putText("/w/\(session)/api/contents/rle.py", solution, headers: alice.headers)
                    #expect(saved.status == .ok)
                    let passing = try await client.postWaiting("/api/sessions/\(session)/tests", json: ["task": "run-length"], headers: alice.writeHeaders)
                        .json()
                    #expect(passing["passed"] as? Bool == true, "\(passing["output"] ?? "")")
                    let result = try await self.events(store, session).last { $0.type == .testResult }
                    #expect(result?.payload["passed"] == .bool(true))

                    // The instructor ends it: the object says Completed and the operator takes the pod back.
                    let teacher = try await client.login("teacher")
                    _ = try await client.execute(uri: "/api/sessions/\(session)/end", method: .post, headers: teacher.writeHeaders)
                    try await waitUntil("the pod is released") {
                        let ended = try await kube.get(SessionResource.self, name: session, namespace: Self.namespace)
                        let pods = try await kube.listAll(Pod.self, namespace: Self.namespace).items
                        return ended.status?.phase == .completed && pods.isEmpty
                    }
                    #expect(
                        try await kube.get(PersistentVolumeClaim.self, name: "ws-\(session)-files", namespace: Self.namespace).name == "ws-\(session)-files")
                }
                group.cancelAll()
                await server.store.dropWatches()
            }
        }
    }
}

import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import OPECore
import OPEGateway
import OPERuntime
import OPEStore
import OPETestSupport
import OPEWorkspaces
import Synchronization
import Testing

/// A gateway on a free loopback port with a fresh data dir, the shipped modules and three users.
///
/// Its timers run on a ``ManualClock``: time stands still unless the test moves it on (pass your
/// own clock to do that), so nothing the lobby, the sessions or the bots decide depends on how
/// fast the machine is. Real processes (JupyterLab, MariaDB) still take the time they take.
struct TestGateway {
    static let password = "correct-horse"
    /// How long a test server keeps a quiet connection (before its first request, and between
    /// requests): the test client opens one when the test starts and holds it across long waits
    /// (a warm pool filling on a busy machine) and does not reconnect when the server closes it
    /// ("I/O on closed channel"). The header and read timeouts themselves are tested apart.
    static let keepAlive = Duration.seconds(15 * 60)

    static var examples: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/modules").path
    }

    /// Runs `body` against a live server.
    static func run(
        moduleFolders: [String] = [examples], folder: String? = nil, createUsers: Bool = true, clock: ManualClock = ManualClock(),
        _ body: @Sendable (any TestClientProtocol, Store) async throws -> Void
    ) async throws {
        try await runWithGateway(moduleFolders: moduleFolders, folder: folder, createUsers: createUsers, clock: clock) { client, store, _ in
            try await body(client, store)
        }
    }

    /// The same, with the gateway's parts at hand (to run a lobby pass right now, say).
    static func runWithGateway(
        moduleFolders: [String] = [examples], folder: String? = nil, createUsers: Bool = true, clock: ManualClock = ManualClock(),
        metricsToken: String? = nil, _ body: @Sendable (any TestClientProtocol, Store, Gateway) async throws -> Void
    ) async throws {
        let folder = folder ?? NSTemporaryDirectory() + "ope-gateway-\(UUID().uuidString)"
        let temporary = folder.hasPrefix(NSTemporaryDirectory() + "ope-gateway-")
        defer { if temporary { try? FileManager.default.removeItem(atPath: folder) } }
        OPEMetrics.bootstrap()
        let store = try Store(dataDirectory: folder, hasher: PasswordHasher(logN: 8, blockSize: 8, parallelism: 1))
        for (name, role) in [("alice", PlatformRole.participant), ("bob", .participant), ("carol", .participant), ("teacher", .instructor), ("root", .admin)] {
            guard createUsers else { break }
            try await store.users.create(User(username: name, displayName: name.capitalized, role: role), password: password, actor: "test")
        }
        var configuration = GatewayConfiguration(host: "127.0.0.1", port: 0, dataDirectory: folder, moduleFolders: moduleFolders)
        configuration.connections.readTimeout = Self.keepAlive
        configuration.connections.headerTimeout = Self.keepAlive
        configuration.runtime.clock = clock
        configuration.metricsToken = metricsToken
        let (app, gateway) = try await buildApplication(configuration, store: store)
        try await app.testLive { client in try await body(client, store, gateway) }
    }

    /// Like ``run(moduleFolders:folder:createUsers:_:)``, returning the body's result (restart tests run twice on one folder).
    @discardableResult
    static func runReturning<T: Sendable>(
        folder: String, createUsers: Bool = true, clock: ManualClock = ManualClock(),
        _ body: @Sendable @escaping (any TestClientProtocol, Store) async throws -> T
    ) async throws -> T {
        let result = Mutex<T?>(nil)
        try await run(folder: folder, createUsers: createUsers, clock: clock) { client, store in
            let value = try await body(client, store)
            result.withLock { $0 = value }
        }
        return try #require(result.withLock { $0 })
    }

    static var venv: String {
        get throws {
            let root = URL(fileURLWithPath: examples).deletingLastPathComponent().deletingLastPathComponent().path
            let venv = ProcessInfo.processInfo.environment["OPE_VENV"] ?? root + "/.venv"
            guard FileManager.default.isExecutableFile(atPath: venv + "/bin/jupyter-lab") else {
                throw RoomTestError("no JupyterLab in \(venv): run scripts/setup-venv.sh (make test does)")
            }
            return venv
        }
    }

    /// The sandbox `ope serve` would make for the data dir `folder`: tests run participant code
    /// confined, as the product does (bubblewrap must be installed: `make test` does).
    static func sandbox(for folder: String) async throws -> Sandbox {
        let tag = Sandbox.tag(for: folder)
        return try await Sandbox.make(Sandbox.Configuration(runtimeRoot: Sandbox.defaultRuntimeRoot(tag: tag)), tag: tag)
    }

    /// The same with real JupyterLab workspaces from the project's virtualenv.
    static func runWithWorkspaces(
        moduleFolders: [String] = [examples], workspaces: WorkspaceService.Configuration = .init(), warmPool: Int = 0,
        venv: String? = nil, readyTimeout: Duration = .seconds(180), workspacePort: Int? = nil, databases: Bool = false, folder: String? = nil,
        clock: ManualClock = ManualClock(), _ body: @Sendable (any TestClientProtocol, Store, Gateway) async throws -> Void
    ) async throws {
        // A given folder belongs to the caller (a restart test runs twice on it).
        let owned = folder == nil
        let folder = folder ?? NSTemporaryDirectory() + "ope-gateway-\(UUID().uuidString)"
        defer { if owned { try? FileManager.default.removeItem(atPath: folder) } }
        OPEMetrics.bootstrap()
        let store = try Store(dataDirectory: folder, hasher: PasswordHasher(logN: 8, blockSize: 8, parallelism: 1))
        for (name, role) in [("alice", PlatformRole.participant), ("bob", .participant), ("carol", .participant), ("teacher", .instructor)]
        where try await store.users.find(name) == nil {
            try await store.users.create(User(username: name, displayName: name.capitalized, role: role), password: password, actor: "test")
        }
        var configuration = GatewayConfiguration(host: "127.0.0.1", port: 0, dataDirectory: folder, moduleFolders: moduleFolders)
        configuration.connections.readTimeout = Self.keepAlive
        configuration.connections.headerTimeout = Self.keepAlive
        let venv = try venv ?? Self.venv
        configuration.runtime.venv = try Self.venv
        let sandbox = try await Self.sandbox(for: folder)
        configuration.runtime.sandbox = sandbox
        configuration.runtime.workspaceBackend = LocalJupyterBackend(
            configuration: .init(venv: venv, root: folder + "/workspaces", sandbox: sandbox, readyTimeout: readyTimeout, warmPool: warmPool)
        )
        configuration.runtime.workspaces = workspaces
        configuration.workspacePort = workspacePort
        configuration.runtime.clock = clock
        let databaseFolder = NSTemporaryDirectory() + "ope-db-" + UUID().uuidString.prefix(8)
        defer { try? FileManager.default.removeItem(atPath: databaseFolder) }
        if databases {
            // A short path: MariaDB's socket path must stay under about 100 bytes.
            configuration.runtime.useDatabases(MariaDBServer(configuration: .init(directory: databaseFolder)))
        }
        let (app, gateway) = try await buildApplication(configuration, store: store)
        try await app.testLive { client in try await body(client, store, gateway) }
    }
}

/// A signed-in browser: its cookie and CSRF token.
struct Browser {
    var cookie: String
    var csrf: String

    var headers: HTTPFields { [.cookie: cookie] }
    var writeHeaders: HTTPFields { [.cookie: cookie, HTTPField.Name("X-CSRF-Token")!: csrf, .contentType: "application/json"] }
}

extension TestClientProtocol {
    /// alice and bob join python-intro (target 2) and are matched into one session.
    func pair() async throws -> (alice: Browser, bob: Browser, session: String) {
        let alice = try await self.login("alice")
        let bob = try await self.login("bob")
        let first = try await self.post("/api/lobby/join", json: ["module": "python-intro"], headers: alice.writeHeaders).json()
        #expect(first["status"] as? String == "waiting")
        #expect(first["position"] as? Int == 1)
        let second = try await self.post("/api/lobby/join", json: ["module": "python-intro"], headers: bob.writeHeaders).json()
        #expect(second["status"] as? String == "matched")
        let session = try #require(second["session"] as? String)
        let aliceStatus = try await self.get("/api/lobby", headers: alice.headers).json()
        #expect(aliceStatus["session"] as? String == session)
        return (alice, bob, session)
    }

    func login(_ username: String, _ password: String = TestGateway.password) async throws -> Browser {
        let response = try await post("/api/auth/login", json: ["username": username, "password": password])
        #expect(response.status == .ok, "login failed: \(String(buffer: response.body))")
        let setCookie = try #require(response.headers[.setCookie])
        let cookie = String(try #require(setCookie.split(separator: ";").first))
        let body = try response.json()
        return Browser(cookie: cookie, csrf: try #require(body["csrfToken"] as? String))
    }

    func post(_ uri: String, json: [String: Any], headers: HTTPFields = [.contentType: "application/json"]) async throws -> TestResponse {
        let data = try JSONSerialization.data(withJSONObject: json)
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: data))
    }

    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: headers)
    }

    /// Saves a file through a workspace's contents API (`/w/{id}/api/contents/…`); `model` is
    /// JupyterLab's: its `type`, `format` and `content`.
    func putContents(_ uri: String, _ model: [String: Any], headers: HTTPFields) async throws -> TestResponse {
        var headers = headers
        headers[.contentType] = "application/json"
        return try await execute(uri: uri, method: .put, headers: headers, body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: model)))
    }

    /// Saves a text file through a workspace's contents API.
    func putText(_ uri: String, _ text: String, headers: HTTPFields) async throws -> TestResponse {
        try await putContents(uri, ["type": "file", "format": "text", "content": text], headers: headers)
    }

    /// A POST that may take long (a task-test run starts pytest, which on a busy machine takes
    /// longer than the live test client's fixed 20 s read timeout): sent to the live server's
    /// port with a generous bound.
    func postWaiting(_ uri: String, json: [String: Any], headers: HTTPFields) async throws -> WaitedResponse {
        let port = try #require(port, "postWaiting needs a live server")
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(uri)")
        request.method = .POST
        for field in headers { request.headers.add(name: field.name.rawName, value: field.value) }
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(300))
        let body = try await response.body.collect(upTo: 16 << 20)
        return WaitedResponse(status: HTTPResponse.Status(code: Int(response.status.code)), body: body)
    }
}

/// The answer to ``TestClientProtocol/postWaiting(_:json:headers:)``.
struct WaitedResponse {
    var status: HTTPResponse.Status
    var body: ByteBuffer

    func json() throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
        return try #require(object as? [String: Any], "not a JSON object: \(String(buffer: body))")
    }
}

extension TestResponse {
    func json() throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
        return try #require(object as? [String: Any], "not a JSON object: \(String(buffer: body))")
    }

    func jsonArray() throws -> [[String: Any]] {
        let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
        return try #require(object as? [[String: Any]], "not a JSON array: \(String(buffer: body))")
    }

    var errorMessage: String? { (try? json())?["error"] as? String }
}

extension HTTPFields {
    /// These fields with `other`'s set on top.
    func merging(_ other: HTTPFields) -> HTTPFields {
        var merged = self
        for field in other { merged[field.name] = field.value }
        return merged
    }
}

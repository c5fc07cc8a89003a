import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import OPECLI
import OPECore
import OPEGateway
import OPERuntime
import OPEStore
import OPEWorkspaces
import ServiceLifecycle

/// An OPE gateway with local workspaces, running in this process for a benchmark.
struct BenchGateway {
    let group: ServiceGroup
    let running: Task<Void, any Error>
    let gateway: Gateway
    let store: Store
    let port: Int
    /// The workspaces' own origin, where `ope serve` puts the proxy by default.
    let workspacePort: Int
    let tokens: [String]
    let http: LoadTestHTTP

    static func start(
        folder: String, venv: String, modules: String, warmPool: Int, users: Int, sandboxed: Bool, inspects: Bool = true
    ) async throws -> BenchGateway {
        var logger = Logger(label: "ope.bench")
        logger.logLevel = .warning
        let store = try Store(dataDirectory: folder)
        var tokens: [String] = []
        for index in 0..<users {
            let user = try await store.users.create(
                User(username: "u\(index)", displayName: "User \(index)", role: .participant), password: nil, actor: "bench")
            tokens.append(try await store.tokens.create(for: user, name: "bench", actor: "bench").secret)
        }
        var configuration = GatewayConfiguration(host: "127.0.0.1", port: 0, dataDirectory: folder, moduleFolders: [modules])
        configuration.runtime.venv = venv
        let workspacePort = try LoopbackPort.free()
        configuration.workspacePort = workspacePort
        configuration.inspectsWorkspaceSockets = inspects
        let tag = Sandbox.tag(for: folder)
        let sandboxSettings = Sandbox.Configuration(runtimeRoot: Sandbox.defaultRuntimeRoot(tag: tag))
        let sandbox = sandboxed ? try await Sandbox.make(sandboxSettings, tag: tag) : Sandbox.off(sandboxSettings)
        configuration.runtime.sandbox = sandbox
        configuration.runtime.workspaceBackend = LocalJupyterBackend(
            configuration: .init(venv: venv, root: folder + "/workspaces", sandbox: sandbox, warmPool: warmPool), logger: logger
        )
        configuration.runtime.workspaces = .init(maxConcurrentStarts: 4, idleTimeout: nil)
        // The simulated members never open the team room, so without this their sessions would
        // be abandoned (and the workspaces stopped) two minutes into the run.
        configuration.runtime.gracePeriod = .seconds(3600)
        let bound = AsyncStream<Int>.makeStream()
        let (app, gateway) = try await buildApplication(configuration, store: store, logger: logger) { port in bound.continuation.yield(port) }
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let running = Task { try await group.run() }
        var iterator = bound.stream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CLIError("the benchmark gateway did not start") }
        return BenchGateway(
            group: group, running: running, gateway: gateway, store: store, port: port, workspacePort: workspacePort, tokens: tokens,
            http: LoadTestHTTP(http: HTTPClient.shared, base: "http://127.0.0.1:\(port)")
        )
    }

    /// Users 2i and 2i+1 join python-intro; returns their session and match → ready in ms.
    func pairAndWait(_ index: Int) async throws -> (session: String, ms: Double) {
        try await http.joinLobby(module: "python-intro", token: tokens[2 * index])
        try await http.joinLobby(module: "python-intro", token: tokens[2 * index + 1])
        guard let session = try await http.session(token: tokens[2 * index]) else { throw CLIError("users were not matched") }
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let events = try await store.reader.events(EventFilter(session: session))
            if let formed = events.first(where: { $0.type == .sessionFormed }), let ready = events.first(where: { $0.type == .workspaceStarted }) {
                return (session, ready.time.timeIntervalSince(formed.time) * 1000)
            }
            if let failed = events.first(where: { $0.type == .workspaceFailed }) {
                throw CLIError("workspace failed: \(failed.decode(WorkspaceFailedPayload.self)?.error ?? "no reason recorded")")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw CLIError("the workspace of \(session) did not start within 120 s")
    }

    func workspace(_ session: String) async throws -> Workspace {
        guard case .ready(let workspace)? = await gateway.workspaces?.state(of: session) else { throw CLIError("no ready workspace for \(session)") }
        return workspace
    }

    func end(_ session: String) async throws { _ = try await gateway.sessions.complete(session: session, by: "bench") }

    func waitForPool(_ size: Int) async throws {
        guard let backend = gateway.workspaces?.backend as? LocalJupyterBackend else { return }
        let deadline = ContinuousClock.now + .seconds(120)
        while await backend.warmCount < size, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
    }

    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await running.value
    }
}

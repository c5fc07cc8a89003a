import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdWSClient
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import OPECore
import OPEGateway
import OPERuntime
import OPEStore
import OPEWorkspaces
import ServiceLifecycle
import Synchronization

extension BenchCommand {
    /// Workspace figures: proxy overhead against nginx, time-to-workspace, memory per workspace.
    struct Proxy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Workspace proxy overhead (OPE vs nginx), time-to-workspace (cold vs warm pool) and memory per workspace, sandbox off vs on.",
            discussion: """
                Starts an OPE gateway in this process with real JupyterLab workspaces, forms sessions through the lobby and \
                measures one sandboxed JupyterLab through OPE's proxy and through nginx configured as a plain reverse proxy \
                (keep-alive upstream on its unix socket, WebSocket upgrade, token added), and time-to-workspace and memory with the \
                sandbox off and on. Needs nginx (make bench installs it).
                """
        )
        @Option(help: "HTTP requests per target.") var requests: Int = 5000
        @Option(help: "Requests in flight at once.") var concurrency: Int = 16
        @Option(help: "Rounds of HTTP load; targets take turns, the median round counts.") var rounds: Int = 5
        @Option(name: .customLong("round-trips"), help: "WebSocket round trips per target (kernel_info over the kernel channel).") var roundTrips: Int = 1000
        @Option(help: "Sessions started for the time-to-workspace figures, cold and warm each.") var starts: Int = 5
        @Option(help: "Python virtualenv holding JupyterLab.") var venv: String = ".venv"
        @Option(help: "Folder of modules (python-intro is used).") var modules: String = "examples/modules"
        @Option(help: "The nginx binary.") var nginx: String = "/usr/sbin/nginx"

        func run() async throws {
            guard FileManager.default.isExecutableFile(atPath: nginx) else {
                throw CLIError("nginx not found at \(nginx): install it (`apt-get install nginx-light`; `make bench` does) or pass --nginx")
            }
            let venv = URL(fileURLWithPath: self.venv).standardizedFileURL.path
            let modules = URL(fileURLWithPath: self.modules).standardizedFileURL.path
            let folder = NSTemporaryDirectory() + "ope-bench-proxy-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: folder) }

            // Sandbox off, then on, in one run: what containment costs in start time and memory.
            var rows: [(mode: String, cold: [Double], warm: [Double], memory: (server: Int, total: Int, processes: Int))] = []
            for sandboxed in [false, true] {
                let mode = sandboxed ? "sandbox on" : "sandbox off"
                let cold = try await BenchGateway.start(
                    folder: folder + "/cold-\(sandboxed)", venv: venv, modules: modules, warmPool: 0, users: 2 * starts, sandboxed: sandboxed
                )
                print("Time-to-workspace, \(mode), cold (match → JupyterLab ready, \(starts) sessions one after another):")
                var coldTimes: [Double] = []
                var sessions: [String] = []
                for index in 0..<starts {
                    let (session, ms) = try await cold.pairAndWait(index)
                    coldTimes.append(ms)
                    sessions.append(session)
                }
                print("  " + Self.summary(coldTimes))
                let workspace = try await cold.workspace(sessions[0])
                for session in sessions.dropFirst() { try await cold.end(session) }
                let memory = try await Self.memory(of: workspace)
                if sandboxed { try await compare(workspace: workspace, gatewayPort: cold.port, token: cold.tokens[0], folder: folder) }
                try await cold.stop()

                let warm = try await BenchGateway.start(
                    folder: folder + "/warm-\(sandboxed)", venv: venv, modules: modules, warmPool: 2, users: 2 * starts, sandboxed: sandboxed
                )
                print("Time-to-workspace, \(mode), warm pool of 2 (\(starts) sessions, each after the pool refilled):")
                var warmTimes: [Double] = []
                for index in 0..<starts {
                    try await warm.waitForPool(2)
                    warmTimes.append(try await warm.pairAndWait(index).ms)
                }
                print("  " + Self.summary(warmTimes))
                try await warm.stop()
                rows.append((mode, coldTimes, warmTimes, memory))
            }
            print("\nSandbox cost, same run (medians; memory = every process of one workspace with an idle kernel):")
            func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
            for row in rows {
                print(
                    String(
                        format: "  %@  cold %.0f ms, warm %.1f ms, memory %.1f MiB (%d processes)", row.mode.padding(toLength: 11, withPad: " ", startingAt: 0),
                        median(row.cold), median(row.warm), Double(row.memory.total) / 1024, row.memory.processes
                    )
                )
            }
            let (off, on) = (rows[0], rows[1])
            print(
                String(
                    format: "  sandbox adds: cold %+.0f ms, warm %+.1f ms (target < 100 ms), memory %+.1f MiB per workspace (target < 10 MiB)",
                    median(on.cold) - median(off.cold), median(on.warm) - median(off.warm), Double(on.memory.total - off.memory.total) / 1024
                )
            )
        }

        /// Resident memory of every process of a workspace (the sandbox's own included) with one idle kernel.
        static func memory(of workspace: Workspace) async throws -> (server: Int, total: Int, processes: Int) {
            _ = try await HTTPLoad.startKernel(base: workspace.url, token: workspace.token)
            try await Task.sleep(for: .seconds(3))  // let the kernel finish importing
            let pids = WorkspaceProcesses.pids(of: workspace.id)
            let server = workspace.processID.map(WorkspaceProcesses.residentKiB) ?? 0
            return (server, pids.map(WorkspaceProcesses.residentKiB).reduce(0, +), pids.count)
        }

        /// The same JupyterLab through OPE and through nginx (and directly, when it is on TCP).
        func compare(workspace: Workspace, gatewayPort: Int, token: String, folder: String) async throws {
            let upstream = workspace.socketPath.map { "unix:" + $0 } ?? String(workspace.origin.dropFirst("http://".count))
            let nginxPort = try LoopbackPort.free()
            let nginx = try NginxProxy.start(binary: self.nginx, folder: folder + "/nginx", port: nginxPort, upstream: upstream, token: workspace.token)
            defer { nginx.stop() }
            try await Task.sleep(for: .milliseconds(500))
            var targets: [(name: String, base: String, authorization: String?)] = [
                ("OPE proxy", "http://127.0.0.1:\(gatewayPort)", "Bearer \(token)"),
                ("nginx", "http://127.0.0.1:\(nginxPort)", nil),
            ]
            // A sandboxed JupyterLab listens on a unix socket only, which the load tool cannot open.
            if workspace.socketPath == nil { targets.insert(("direct", workspace.origin, "token \(workspace.token)"), at: 0) }
            print(
                "\nHTTP GET \(workspace.path)api/status, \(requests) requests, \(concurrency) in flight, from a separate load process (\(rounds) rounds, targets taking turns, medians):"
            )
            var rounds: [String: [HTTPLoad.Result]] = [:]
            for _ in 0..<self.rounds {
                for target in targets {
                    let result = try await HTTPLoad.inChild(
                        url: target.base + workspace.path + "api/status", authorization: target.authorization, requests: requests, concurrency: concurrency
                    )
                    rounds[target.name, default: []].append(result)
                }
            }
            let results = rounds.mapValues(HTTPLoad.Result.median)
            for target in targets { print("  \(target.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(results[target.name]!.line)") }
            let ours = results["OPE proxy"]!
            let theirs = results["nginx"]!
            print(String(format: "  OPE/nginx: throughput %.2fx (target ≥ 0.8x), p99 %.2fx (target ≤ 1.2x)", ours.rate / theirs.rate, ours.p99 / theirs.p99))

            let kernel = try await HTTPLoad.startKernel(base: workspace.url, token: workspace.token)

            print("\nWebSocket round trips (kernel_info_request → reply on the kernel channel), \(roundTrips) each:")
            var trips: [String: [Double]] = [:]
            for target in targets {
                // Each connection names its own client session, as JupyterLab does; without one they
                // share a key and the server may drop one connection for the next.
                let url = "ws" + target.base.dropFirst("http".count) + workspace.path + "api/kernels/\(kernel)/channels?session_id=\(UUID().uuidString)"
                trips[target.name] = try await HTTPLoad.roundTripsInChild(url: url, authorization: target.authorization, count: roundTrips)
                print("  \(target.name.padding(toLength: 10, withPad: " ", startingAt: 0)) " + Self.summary(trips[target.name]!))
            }
            let p99 = { (name: String) in trips[name]!.sorted()[Int(Double(trips[name]!.count) * 0.99)] }
            print(String(format: "  OPE/nginx p99: %.2fx", p99("OPE proxy") / p99("nginx")))
        }

        static func summary(_ milliseconds: [Double]) -> String {
            guard !milliseconds.isEmpty else { return "no samples" }
            let sorted = milliseconds.sorted()
            func at(_ quantile: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * quantile))] }
            return String(format: "p50 %.1f ms, p99 %.1f ms, max %.1f ms (n=%d)", at(0.5), at(0.99), sorted.last!, sorted.count)
        }
    }
}

extension BenchCommand {
    /// The load generator, run as its own process so it does not share the gateway's threads.
    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Load one URL (used by bench proxy); prints one JSON line.", shouldDisplay: false)
        @Option var url: String
        @Option var authorization: String?
        @Option var requests: Int = 5000
        @Option var concurrency: Int = 16
        @Option(name: .customLong("round-trips"), help: "Instead: kernel_info round trips over the kernel channel WebSocket at --url.") var roundTrips: Int?

        func run() async throws {
            let object: [String: Any]
            if let roundTrips {
                object = ["trips": try await HTTPLoad.kernelRoundTrips(url: url, authorization: authorization, count: roundTrips)]
            } else {
                let result = try await HTTPLoad.run(url: url, authorization: authorization, requests: requests, concurrency: concurrency)
                object = ["rate": result.rate, "p50": result.p50, "p99": result.p99, "errors": result.errors]
            }
            print(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
        }
    }
}

/// An OPE gateway with local workspaces, running in this process for a benchmark.
struct BenchGateway {
    let group: ServiceGroup
    let running: Task<Void, any Error>
    let gateway: Gateway
    let store: Store
    let port: Int
    let tokens: [String]
    let http: LoadTestHTTP

    static func start(folder: String, venv: String, modules: String, warmPool: Int, users: Int, sandboxed: Bool) async throws -> BenchGateway {
        var logger = Logger(label: "ope.bench")
        logger.logLevel = .warning
        let store = try Store(dataDirectory: folder)
        var tokens: [String] = []
        for index in 0..<users {
            let user = try await store.users.create(User(username: "u\(index)", displayName: "User \(index)", role: .participant), password: nil, actor: "bench")
            tokens.append(try await store.tokens.create(for: user, name: "bench", actor: "bench").secret)
        }
        var configuration = GatewayConfiguration(host: "127.0.0.1", port: 0, dataDirectory: folder, moduleFolders: [modules])
        configuration.runtime.venv = venv
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
            group: group, running: running, gateway: gateway, store: store, port: port, tokens: tokens,
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

/// nginx as a plain reverse proxy in front of one JupyterLab.
struct NginxProxy {
    let process: Process

    /// - Parameter upstream: `host:port` or `unix:/path/to/socket`.
    static func start(binary: String, folder: String, port: Int, upstream: String, token: String) throws -> NginxProxy {
        try FileManager.default.createDirectory(atPath: folder + "/tmp", withIntermediateDirectories: true)
        let host = upstream
        let config = """
            worker_processes auto;
            pid \(folder)/nginx.pid;
            error_log \(folder)/error.log warn;
            events { worker_connections 4096; }
            http {
                access_log off;
                client_body_temp_path \(folder)/tmp/body;
                proxy_temp_path \(folder)/tmp/proxy;
                fastcgi_temp_path \(folder)/tmp/fastcgi;
                uwsgi_temp_path \(folder)/tmp/uwsgi;
                scgi_temp_path \(folder)/tmp/scgi;
                map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
                upstream jupyter { server \(host); keepalive 64; }
                server {
                    listen 127.0.0.1:\(port);
                    location /w/ {
                        proxy_pass http://jupyter;
                        proxy_http_version 1.1;
                        proxy_set_header Host $host:$server_port;
                        proxy_set_header Authorization "token \(token)";
                        proxy_set_header Upgrade $http_upgrade;
                        proxy_set_header Connection $connection_upgrade;
                        proxy_read_timeout 3600s;
                    }
                }
            }
            """
        try config.write(toFile: folder + "/nginx.conf", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-p", folder, "-c", folder + "/nginx.conf", "-g", "daemon off; user root;"]
        process.standardError = FileHandle.nullDevice
        try process.runWithSignalsUnblocked()
        return NginxProxy(process: process)
    }

    func stop() {
        kill(-process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }
}

/// Load for one URL: requests per second and latency percentiles.
enum HTTPLoad {
    struct Result {
        var rate: Double
        var p50: Double
        var p99: Double
        var errors: Int
        var line: String { String(format: "%7.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors", rate, p50, p99, errors) }

        /// The median of each figure across rounds; errors add up.
        static func median(_ rounds: [Result]) -> Result {
            func middle(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
            return Result(
                rate: middle(rounds.map(\.rate)), p50: middle(rounds.map(\.p50)), p99: middle(rounds.map(\.p99)), errors: rounds.map(\.errors).reduce(0, +)
            )
        }
    }

    static func run(url: String, authorization: String?, requests: Int, concurrency: Int) async throws -> Result {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        do {
            let result = try await run(url: url, authorization: authorization, requests: requests, concurrency: concurrency, client: client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    static func run(url: String, authorization: String?, requests: Int, concurrency: Int, client: HTTPClient) async throws -> Result {
        @Sendable func one() async -> Double? {
            var request = HTTPClientRequest(url: url)
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            let began = ContinuousClock.now
            guard let response = try? await client.execute(request, timeout: .seconds(30)), response.status == .ok,
                (try? await response.body.collect(upTo: 1 << 20)) != nil
            else { return nil }
            let elapsed = ContinuousClock.now - began
            return elapsed.milliseconds
        }
        // Warm the connections up first.
        for _ in 0..<concurrency { _ = await one() }
        let began = ContinuousClock.now
        let (latencies, errors) = await withTaskGroup(of: ([Double], Int).self) { group in
            for worker in 0..<concurrency {
                let share = requests / concurrency + (worker < requests % concurrency ? 1 : 0)
                group.addTask {
                    var mine: [Double] = []
                    var failed = 0
                    for _ in 0..<share {
                        if let latency = await one() { mine.append(latency) } else { failed += 1 }
                    }
                    return (mine, failed)
                }
            }
            let all = await group.reduce(into: ([Double](), 0)) { $0.0 += $1.0; $0.1 += $1.1 }
            return (all.0.sorted(), all.1)
        }
        let seconds = (ContinuousClock.now - began).timeInterval
        guard !latencies.isEmpty else { throw CLIError("every request to \(url) failed") }
        return Result(
            rate: Double(latencies.count) / seconds, p50: latencies[latencies.count / 2], p99: latencies[Int(Double(latencies.count) * 0.99)],
            errors: errors
        )
    }

    /// `ope bench load` in a child process.
    static func inChild(url: String, authorization: String?, requests: Int, concurrency: Int) async throws -> Result {
        var arguments = ["--url", url, "--requests", "\(requests)", "--concurrency", "\(concurrency)"]
        if let authorization { arguments += ["--authorization", authorization] }
        let object = try await child(arguments)
        guard let rate = object["rate"] as? Double, let p50 = object["p50"] as? Double, let p99 = object["p99"] as? Double, let errors = object["errors"] as? Int else {
            throw CLIError("bench load gave \(object)")
        }
        return Result(rate: rate, p50: p50, p99: p99, errors: errors)
    }

    static func roundTripsInChild(url: String, authorization: String?, count: Int) async throws -> [Double] {
        var arguments = ["--url", url, "--round-trips", "\(count)"]
        if let authorization { arguments += ["--authorization", authorization] }
        guard let trips = try await child(arguments)["trips"] as? [Double] else { throw CLIError("bench load gave no round trips") }
        return trips
    }

    private static func child(_ arguments: [String]) async throws -> [String: Any] {
        let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
        let result = try await CommandRunner().run([executable, "bench", "load"] + arguments, timeout: .seconds(900))
        guard result.succeeded, let line = result.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { throw CLIError("bench load failed:\n\(result.output)") }
        return object
    }

    static func startKernel(base: String, token: String) async throws -> String {
        var request = HTTPClientRequest(url: base + "api/kernels")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "token \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        // JupyterLab refuses a request without a host, which a unix socket does not name.
        request.headers.add(name: "Host", value: "localhost")
        request.body = .bytes(ByteBuffer(string: #"{"name":"python3"}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .created || response.status == .ok,
            let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any], let id = object["id"] as? String
        else { throw CLIError("could not start a kernel: \(response.status) \(String(buffer: body))") }
        return id
    }

    /// Sends `count` kernel_info requests one after another; returns each round trip in ms.
    static func kernelRoundTrips(url: String, authorization: String?, count: Int) async throws -> [Double] {
        var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 24)
        // The round trips keep the connection busy; the client's own pings only add noise.
        configuration.autoPing = .disabled
        if let authorization { configuration.additionalHeaders[.authorization] = authorization }
        let result = Mutex<[Double]>([])
        let session = UUID().uuidString
        try await WebSocketClient.connect(url: url, configuration: configuration, logger: Logger(label: "bench")) { inbound, outbound, _ in
            var messages = inbound.messages(maxSize: 1 << 24).makeAsyncIterator()
            var trips: [Double] = []
            // The first exchange waits for the kernel to be up; it is not counted.
            for index in -1..<count {
                let id = UUID().uuidString
                let request = """
                    {"header":{"msg_id":"\(id)","username":"bench","session":"\(session)","msg_type":"kernel_info_request","version":"5.3"},\
                    "parent_header":{},"metadata":{},"content":{},"channel":"shell","buffers":[]}
                    """
                let began = ContinuousClock.now
                try await outbound.write(.text(request))
                while let message = try await messages.next() {
                    guard case .text(let text) = message, text.contains("\"kernel_info_reply\""), text.contains(id) else { continue }
                    break
                }
                let elapsed = ContinuousClock.now - began
                if index >= 0 { trips.append(elapsed.milliseconds) }
            }
            result.withLock { $0 = trips }
            try await outbound.close(.normalClosure, reason: nil)
        }
        return result.withLock { $0 }
    }
}

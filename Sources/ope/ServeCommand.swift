import ArgumentParser
import Foundation
import Hummingbird
import Logging
import OPECLI
import OPECore
import OPEGateway
import OPEKube
import OPEModules
import OPERuntime
import OPEStore
import OPEWorkspaces

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the OPE server (gateway, lobby, rooms) on this machine.",
        discussion: "SIGTERM or SIGINT (Ctrl-C) stop it gracefully: requests in flight finish and the event log is flushed."
    )

    enum WorkspaceMode: String, ExpressibleByArgument, CaseIterable {
        /// One JupyterLab per session, started from the project's virtualenv.
        case local
        /// No workspaces (load tests, API-only use).
        case none

        var summary: String {
            switch self {
            case .local: "local JupyterLab per session"
            case .none: "none"
            }
        }
    }

    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port: Int = 8080
    @OptionGroup var data: DataOptions
    @Option(name: .customLong("modules"), help: "Folder of modules to load (repeatable).") var moduleFolders: [String] = []
    @Option(help: "Config file listing module repositories (default: ope.yaml if present).") var config: String?
    @Option(help: "Workspaces: local (JupyterLab per session) or none.") var workspaces: WorkspaceMode = .local
    @Option(help: "Python virtualenv holding JupyterLab, for --workspaces local.") var venv: String = ".venv"
    @Option(name: .customLong("warm-pool"), help: "JupyterLab servers kept started for new sessions (cuts time-to-workspace).") var warmPool: Int = 0
    @Option(name: .customLong("max-starting"), help: "Workspaces starting at once; the lobby waits above this.") var maxStarting: Int = 4
    @Option(name: .customLong("idle-timeout"), help: "Stop a workspace nobody used for this long, e.g. 30m; 0 never.") var idleTimeout: String = "30m"
    @Option(name: .customLong("workspace-port"), help: "Port of the workspaces' own origin (default: --port + 1; see docs/security.md).") var workspacePort:
        Int?
    @Flag(
        name: .customLong("same-origin-workspaces"),
        help: "Serve workspaces under the platform's own origin (notebook scripts can then act as the user; not for classes).") var sameOriginWorkspaces = false
    @Flag(
        name: .customLong("no-sandbox"),
        help: "Run participant code unconfined as this server's user (only on a machine nobody else uses; see docs/security.md).") var noSandbox = false
    @Option(name: .customLong("limits"), help: "Change the kits' workspace limits, e.g. memory=2GiB,processes=512,cpus=1,openFiles=1024,disk=1GiB,network=off.")
    var limits: String?
    @Option(name: .customLong("workspace-url"), help: "The workspace origin's URL as browsers reach it (default http://HOST:WORKSPACE-PORT).") var workspaceURL:
        String?
    @Option(name: .customLong("public-url"), help: "URL people use to reach OPE (behind a proxy); https makes cookies Secure.") var publicURL: String?
    @Option(
        name: .customLong("metrics-token"), help: "Serve /metrics to callers with this bearer token (default: to this machine only). Or set OPE_METRICS_TOKEN.")
    var metricsToken: String?
    @Option(name: .customLong("header-timeout"), help: "Close a new connection that has not sent a whole request head after this long.") var headerTimeout:
        String = "20s"
    @Option(name: .customLong("read-timeout"), help: "Close a connection silent this long mid-request or between requests (open WebSockets excepted).")
    var readTimeout: String = "60s"
    @Option(name: .customLong("max-connections-per-address"), help: "Connections one IP address may hold open at once (loopback not counted); 0 for no limit.")
    var maxConnectionsPerAddress: Int = 512
    @Option(name: .customLong("shutdown-grace"), help: "On SIGTERM or Ctrl-C, close connections still open after this long.") var shutdownGrace: String = "10s"
    @Flag(name: .customLong("no-demo-users"), help: "On a fresh data dir, create only the admin (for real courses).") var noDemoUsers = false
    @Option(help: "Where workspaces, accounts and modules come from: local (this machine) or kubernetes (OPESession, OPEUser, OPEModule objects).")
    var backend: Backend = .local
    @Option(help: "With --backend kubernetes: the kubeconfig (default: the service account in a pod, else $KUBECONFIG or ~/.kube/config).") var kubeconfig:
        String?
    @Option(help: "With --backend kubernetes: the namespace of the installation (default: the pod's or the kubeconfig context's).") var namespace: String?

    enum Backend: String, ExpressibleByArgument, CaseIterable {
        case local
        case kubernetes
    }
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"
    @Option(
        help: """
            all: everything in this one process (the default). core: lobbies, teams, bots, task tests and their \
            event log, for edges to reach (with --shard, --shards). edge: pages, API, team rooms and the workspace \
            proxy, over the cores (with --cores); keeps nothing that matters.
            """)
    var role: ServeRole = .all
    @Option(help: "With --role core: this core's index, from 0 (core 0 also holds the accounts).") var shard: Int?
    @Option(help: "With --role core: how many cores the cluster has (every core and edge must say the same).") var shards: Int?
    @Option(name: .customLong("cluster-port"), help: "With --role core: the port edges reach this core on (gRPC).") var clusterPort: Int = 7070
    @Option(name: .customLong("cores"), help: "With --role edge: the cores' HOST:PORT (gRPC), comma-separated, in core order.") var cores: String?
    @Option(
        name: .customLong("cluster-token-file"),
        help: "With --role core or edge: a file holding the token edges and cores share (default: $OPE_CLUSTER_TOKEN).")
    var clusterTokenFile: String?

    enum ServeRole: String, ExpressibleByArgument, CaseIterable {
        case all, edge, core
    }

    func run() async throws {
        Self.allocateTaskFramesWithMalloc()
        Self.limitMallocArenas()
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw CLIError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "ope")
        guard (0...65535).contains(port) else { throw CLIError("--port must be from 0 to 65535") }
        try checkRoleOptions()
        if role == .edge {
            try await runEdge(logger: logger)
            return
        }
        if workspaces == .local && backend == .local {
            let jupyter = venv + "/bin/jupyter-lab"
            guard FileManager.default.isExecutableFile(atPath: jupyter) else {
                throw CLIError(
                    "JupyterLab not found at \(jupyter): run `make run` (it creates the virtualenv) or scripts/setup-venv.sh, or start with --workspaces none"
                )
            }
        }
        guard warmPool >= 0, maxStarting >= 1 else { throw CLIError("--warm-pool must be 0 or more and --max-starting 1 or more") }
        guard let idle = DurationText.parse(idleTimeout) else { throw CLIError("--idle-timeout: '\(idleTimeout)' is not a duration such as 30m or 90s") }
        let connections = try connectionLimits()
        var repositories: [ModuleRepository] = []
        let configFile = config ?? (FileManager.default.fileExists(atPath: "ope.yaml") ? "ope.yaml" : nil)
        if let configFile {
            do {
                repositories = try RepositoryConfig.load(file: configFile).repositories
            } catch {
                throw CLIError(error.description)
            }
        }
        for folder in moduleFolders where !FileManager.default.fileExists(atPath: folder) {
            throw CLIError("--modules \(folder): no such folder")
        }
        // Metrics first: the store's event log makes its counters when it opens.
        OPEMetrics.bootstrap()
        let store = try Store.open(data)
        // Accounts, chat and the research record: nobody else on the machine reads them.
        chmod(store.dataDirectory, 0o700)
        // On Kubernetes the accounts are OPEUser objects: no admin or demo accounts are made here.
        let credentials =
            backend == .kubernetes
            ? "Accounts: the OPEUser objects of the namespace.\n"
            : role == .core && shard != 0
                ? "Accounts: on core 0.\n" : try await FirstRun(store: store, demoUsers: !noDemoUsers, logger: logger).prepare()

        var configuration = GatewayConfiguration(
            host: host, port: port, dataDirectory: store.dataDirectory, moduleFolders: moduleFolders.map(Self.absolute), repositories: repositories,
            publicURL: publicURL
        )
        configuration.connections = connections
        // A token on the command line would show in `ps`: the environment is the better place.
        configuration.metricsToken = metricsToken ?? ProcessInfo.processInfo.environment["OPE_METRICS_TOKEN"]
        var sandboxLines: [String] = []
        var backendSummary = workspaces.summary
        if backend == .kubernetes {
            guard moduleFolders.isEmpty, configFile == nil else {
                throw CLIError("--backend kubernetes takes its modules from OPEModule objects (OPERepository syncs them): drop --modules and ope.yaml")
            }
            let connection = try ClusterConnection.resolve(kubeconfig: kubeconfig)
            let client = try KubeClient(connection: connection, logger: Logger(label: "ope.kube"))
            let namespace = self.namespace ?? connection.namespace
            configuration.runtime.moduleFolders = [store.dataDirectory + "/kubernetes-modules"]
            try FileManager.default.createDirectory(atPath: store.dataDirectory + "/kubernetes-modules", withIntermediateDirectories: true)
            configuration.runtime.kubernetes = .init(client: client, namespace: namespace)
            let backend = KubernetesWorkspaceBackend(client: client, configuration: .init(namespace: namespace), logger: logger)
            configuration.runtime.workspaceBackend = backend
            // Task tests run in each workspace pod's grading container, beside the team's files.
            configuration.runtime.grading = { try await backend.grade($0) }
            // The operator culls idle workspaces (and restarts failed ones); the gateway only stamps activity.
            configuration.runtime.workspaces = .init(maxConcurrentStarts: max(maxStarting, 64), idleTimeout: nil)
            backendSummary = "Kubernetes, namespace \(namespace) at \(connection.server)"
        }
        if workspaces == .local && backend == .local {
            let venv = Self.absolute(self.venv)
            configuration.runtime.venv = venv
            do {
                configuration.runtime.limits = try limits.map { text throws(LimitsError) in try WorkspaceLimits.Changes.parse(text) } ?? .init()
            } catch {
                throw CLIError("--limits: \(error)")
            }
            let sandbox = try await Self.sandbox(off: noSandbox, dataDirectory: store.dataDirectory, logger: logger)
            sandboxLines = sandbox.host?.summary ?? []
            configuration.runtime.sandbox = sandbox
            var local = LocalJupyterBackend.Configuration(
                venv: venv, root: store.dataDirectory + "/workspaces", sandbox: sandbox, limits: configuration.runtime.limits, warmPool: warmPool)
            // A warm workspace's path names its core, so any edge knows whom to ask about it.
            local.poolPrefix = ShardMap.poolPrefix(core: role == .core ? shard : nil)
            configuration.runtime.workspaceBackend = LocalJupyterBackend(configuration: local, logger: logger)
            configuration.runtime.workspaces = .init(maxConcurrentStarts: maxStarting, idleTimeout: idle == .zero ? nil : idle)
            // sql-kit sessions get a database on a MariaDB the platform owns (started on first use).
            configuration.runtime.useDatabases(MariaDBServer(configuration: .init(directory: store.dataDirectory + "/mariadb"), logger: logger))
            if sameOriginWorkspaces {
                guard workspacePort == nil else { throw CLIError("--workspace-port and --same-origin-workspaces exclude each other") }
                logger.warning("workspaces share the platform's origin (--same-origin-workspaces): a notebook's scripts can act as whoever opens it")
            } else {
                // Workspaces get an origin of their own by default: notebook output cannot script the platform.
                let chosen = try workspacePort ?? (port == 0 ? LoopbackPort.free() : port + 1)
                guard (1...65535).contains(chosen), chosen != port else { throw CLIError("--workspace-port must be a free port other than --port") }
                configuration.workspacePort = chosen
                configuration.workspaceURL = workspaceURL
            }
        }
        if backend == .kubernetes, !sameOriginWorkspaces {
            let chosen = try workspacePort ?? (port == 0 ? LoopbackPort.free() : port + 1)
            configuration.workspacePort = chosen
            configuration.workspaceURL = workspaceURL
        }
        if role == .core {
            try await runCore(configuration, store: store, credentials: credentials, summary: backendSummary, logger: logger)
            return
        }
        let host = self.host
        let summary = backendSummary
        let workspaceOrigin = configuration.workspaceOrigin
        let noSandbox = self.noSandbox
        let sandboxSummary = sandboxLines
        let (app, gateway) = try await buildApplication(configuration, store: store, logger: logger) { boundPort in
            let url = publicURL ?? "http://\(host):\(boundPort)"
            var text = "\nOPE is running at \(url)   (workspaces: \(summary); stop with Ctrl-C)\n"
            if let workspaceOrigin { text += "Workspaces are served at \(workspaceOrigin) (their own origin; both must be reachable)\n" }
            if workspaces == .local && backend == .local {
                text +=
                    noSandbox
                    ? "WARNING: --no-sandbox: participant code runs as this server's user and can read its data dir\n"
                    : "Participant code is sandboxed:\n" + sandboxSummary.map { "  - " + $0 }.joined(separator: "\n") + "\n"
            }
            printNow(text + credentials)
        }
        let problems = await gateway.catalog.errors
        let modules = await gateway.catalog.modules
        printNow("Loaded \(modules.count) module\(modules.count == 1 ? "" : "s"): \(modules.map(\.id).joined(separator: ", "))")
        for problem in problems { printError("module skipped: \(problem)") }
        do {
            try await app.runService()
        } catch {
            let text = "\(error)"
            if text.contains("Address already in use") || text.contains("errno: 98") {
                let ports = configuration.workspacePort.map { "port \(port) or the workspace port \($0)" } ?? "port \(port)"
                throw CLIError("\(ports) on \(host) is already in use (is another `ope serve` running?); stop it or pass --port / --workspace-port")
            }
            throw CLIError("the server stopped: \(text)")
        }
    }

    /// `--header-timeout`, `--read-timeout`, `--max-connections-per-address`, `--shutdown-grace`.
    func connectionLimits() throws -> ConnectionLimits {
        func duration(_ option: String, _ text: String, minimum: Int = 1) throws -> Duration {
            guard let duration = DurationText.parse(text), DurationText.seconds(duration) >= minimum else {
                throw CLIError("\(option): '\(text)' is not a duration of at least \(minimum)s, such as 20s or 2m")
            }
            return duration
        }
        var limits = ConnectionLimits()
        limits.headerTimeout = try duration("--header-timeout", headerTimeout)
        limits.readTimeout = try duration("--read-timeout", readTimeout)
        limits.shutdownGrace = try duration("--shutdown-grace", shutdownGrace, minimum: 0)
        guard maxConnectionsPerAddress >= 0 else { throw CLIError("--max-connections-per-address must be 0 (no limit) or more") }
        limits.perAddress = maxConnectionsPerAddress == 0 ? nil : maxConnectionsPerAddress
        return limits
    }

    /// The sandbox participant code runs in; `--no-sandbox` turns it off, loudly.
    static func sandbox(off: Bool, dataDirectory: String, logger: Logger) async throws -> Sandbox {
        let tag = Sandbox.tag(for: dataDirectory)
        let configuration = Sandbox.Configuration(runtimeRoot: Sandbox.defaultRuntimeRoot(tag: tag))
        if off {
            logger.critical("SANDBOX OFF (--no-sandbox): participant code runs as this server's user, with its files, environment and processes in reach")
            return Sandbox.off(configuration)
        }
        do {
            let sandbox = try await Sandbox.make(configuration, tag: tag)
            for line in sandbox.host?.summary ?? [] { logger.info("sandbox: \(line)") }
            return sandbox
        } catch {
            throw CLIError("\(error)")
        }
    }

    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}

import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OPECore

/// One JupyterLab process per session on this machine, from the project's virtualenv.
///
/// Each runs in its own process group on a free loopback port, with a random token and its base
/// URL under `/w/{id}/`, in the session's folder under the data dir. Stopping ends the whole
/// group (kernels included), so nothing is left running. A server that ends by itself is
/// reported on ``exits`` at once (the process's termination handler), so the caller can restart it.
///
/// With `warmPool > 0` that many servers are kept started in empty folders; a new session takes
/// one (its starter files are copied in, and `<root>/<session>` links to its folder so a later
/// restart finds the group's files). Sessions that need their own environment (the sql kit's
/// database credentials) always start cold, because a running server's environment is fixed.
public actor LocalJupyterBackend: WorkspaceBackend {
    public struct Configuration: Sendable {
        /// The virtualenv holding `bin/jupyter-lab`.
        public var venv: String
        /// Sessions' folders go under `<root>/<session>`; logs and Jupyter's own state beside them.
        public var root: String
        /// How long a JupyterLab may take to answer before the start counts as failed.
        public var readyTimeout: Duration = .seconds(90)
        /// Servers kept started for new sessions.
        public var warmPool: Int = 0

        public init(venv: String, root: String, readyTimeout: Duration = .seconds(90), warmPool: Int = 0) {
            self.venv = venv
            self.root = root
            self.readyTimeout = readyTimeout
            self.warmPool = warmPool
        }
    }

    private struct Running {
        var workspace: Workspace
        var process: Process
        var logFile: String
        /// Reported on `exits` only once it was ready: a failed start is the starter's to report.
        var ready = false
    }

    let configuration: Configuration
    let logger: Logger
    private var running: [String: Running] = [:]
    private var pool: [Running] = []
    private var poolFailures = 0
    /// Folders of sessions that took a pooled server, so restarts find their files.
    private var directories: [String: String] = [:]
    public nonisolated let exits: AsyncStream<WorkspaceExit>
    private let exitContinuation: AsyncStream<WorkspaceExit>.Continuation
    /// Process exits as Foundation reports them (on its own thread), handled by `run()`.
    private nonisolated let terminations: AsyncStream<(pid: Int32, status: Int32)>
    private nonisolated let terminationContinuation: AsyncStream<(pid: Int32, status: Int32)>.Continuation

    public init(configuration: Configuration, logger: Logger = Logger(label: "ope.workspaces")) {
        self.configuration = configuration
        self.logger = logger
        (exits, exitContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        (terminations, terminationContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    public func workspace(session: String) -> Workspace? {
        guard let entry = running[session], entry.ready else { return nil }
        return entry.workspace
    }

    /// Servers waiting in the warm pool, ready.
    public var warmCount: Int { pool.count }

    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { [self] in
                for await (pid, status) in terminations { await processExited(pid: pid, status: status) }
            }
            // Both run until this task is cancelled (server shutdown).
            group.addTask { [self] in await fillPool() }
        }
    }

    public func start(_ request: WorkspaceRequest) async throws -> Workspace {
        if let existing = running[request.session], existing.process.isRunning, existing.ready { return existing.workspace }
        if let entry = takeFromPool(for: request) {
            try WorkspaceFiles.seed(entry.workspace.directory, from: request.module)
            let link = configuration.root + "/" + request.session
            try? FileManager.default.removeItem(atPath: link)
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: entry.workspace.directory)
            var taken = entry
            taken.workspace.session = request.session
            running[request.session] = taken
            directories[request.session] = entry.workspace.directory
            logger.info("workspace taken from the warm pool", metadata: ["session": "\(request.session)", "workspace": "\(entry.workspace.id)"])
            return taken.workspace
        }
        let directory = directories[request.session] ?? configuration.root + "/" + request.session
        try WorkspaceFiles.seed(directory, from: request.module)
        var environment = request.environment
        environment["OPE_SESSION"] = request.session
        environment["OPE_MODULE"] = request.module.id
        var entry = try launch(id: request.session, session: request.session, directory: directory, environment: environment)
        running[request.session] = entry
        do {
            try await waitUntilReady(entry)
        } catch {
            await stop(session: request.session)
            throw error
        }
        // A stop during the start wins: the caller gets an error, nothing keeps running.
        guard running[request.session]?.process === entry.process else { throw WorkspaceError("the workspace was stopped while starting") }
        entry.ready = true
        running[request.session] = entry
        logger.info("workspace ready", metadata: ["session": "\(request.session)", "url": "\(entry.workspace.url)"])
        return entry.workspace
    }

    public func stop(session: String) async {
        guard let entry = running.removeValue(forKey: session) else { return }
        await terminate(entry.process, id: entry.workspace.id)
        logger.info("workspace stopped", metadata: ["session": "\(session)"])
    }

    public func stopAll() async {
        for session in running.keys { await stop(session: session) }
        let warm = pool
        pool.removeAll()
        poolFailures = Int.max  // no refills while shutting down
        for entry in warm { await terminate(entry.process, id: entry.workspace.id) }
    }

    // MARK: Processes

    private func launch(id: String, session: String, directory: String, environment extra: [String: String]) throws -> Running {
        let jupyter = configuration.venv + "/bin/jupyter-lab"
        guard FileManager.default.isExecutableFile(atPath: jupyter) else {
            throw WorkspaceError("JupyterLab not found at \(jupyter): run scripts/setup-venv.sh")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let state = configuration.root + "/.jupyter"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let port = try LoopbackPort.free()
        let token = Self.randomToken()
        let basePath = "/w/\(id)/"
        let process = Process()
        // Foundation starts the child as the leader of a new process group, so stopping the
        // group ends JupyterLab's kernels and terminals with it.
        process.executableURL = URL(fileURLWithPath: jupyter)
        process.arguments = [
            "--no-browser", "--ServerApp.ip=127.0.0.1", "--ServerApp.port=\(port)", "--ServerApp.port_retries=0",
            "--IdentityProvider.token=\(token)", "--ServerApp.base_url=\(basePath)", "--ServerApp.root_dir=\(directory)",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--ServerApp.allow_remote_access=False",
            // Browsers reach it only through the gateway, which checks Origin itself.
            "--ServerApp.trust_xheaders=True",
            // No language servers are installed; the LSP extension would only cost start time and memory.
            "--ServerApp.jpserver_extensions={'jupyter_lsp': False}",
        ]
        // Containers and CI run as root; JupyterLab refuses that unless told.
        if getuid() == 0 { process.arguments?.append("--allow-root") }
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = configuration.venv + "/bin:" + (environment["PATH"] ?? "/usr/bin:/bin")
        // Keep each workspace away from the user's own Jupyter settings and from the others'.
        environment["JUPYTER_CONFIG_DIR"] = state + "/config"
        environment["JUPYTER_DATA_DIR"] = state + "/data"
        environment["JUPYTER_RUNTIME_DIR"] = state + "/runtime-" + id
        environment["IPYTHONDIR"] = state + "/ipython"
        // Every workspace gets them, so a warm one serves any kit.
        for (key, value) in KitDefaults.spark where environment[key] == nil { environment[key] = value }
        for (key, value) in extra { environment[key] = value }
        environment[WorkspaceProcesses.variable] = id
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let logFile = configuration.root + "/\(id).log"
        FileManager.default.createFile(atPath: logFile, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        let terminations = terminationContinuation
        process.terminationHandler = { process in terminations.yield((process.processIdentifier, process.terminationStatus)) }
        try process.runWithSignalsUnblocked()
        let workspace = Workspace(
            id: id, session: session, url: "http://127.0.0.1:\(port)\(basePath)", token: token, directory: directory, processID: process.processIdentifier
        )
        return Running(workspace: workspace, process: process, logFile: logFile)
    }

    private func processExited(pid: Int32, status: Int32) {
        if let index = pool.firstIndex(where: { $0.process.processIdentifier == pid }) {
            WorkspaceProcesses.killAll(of: pool[index].workspace.id)
            pool.remove(at: index)
            logger.warning("a warm workspace exited", metadata: ["status": "\(status)"])
            return
        }
        guard let (session, entry) = running.first(where: { $0.value.process.processIdentifier == pid }), entry.ready else { return }
        running[session] = nil
        // Its kernels outlive a crashed server; the restarted one starts its own.
        let orphans = WorkspaceProcesses.killAll(of: entry.workspace.id)
        let tail = Self.tail(of: entry.logFile)
        logger.warning("workspace exited", metadata: ["session": "\(session)", "status": "\(status)", "orphans": "\(orphans)"])
        exitContinuation.yield(WorkspaceExit(session: session, status: status, logTail: tail))
    }

    private func terminate(_ process: Process, id: String) async {
        // Kernels run in sessions of their own: whatever JupyterLab leaves goes at the end.
        defer { WorkspaceProcesses.killAll(of: id) }
        guard process.isRunning else { return }
        let group = -process.processIdentifier
        kill(group, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        // Whatever is left of the group (kernels that ignored SIGTERM) goes now.
        kill(group, SIGKILL)
        let killed = ContinuousClock.now
        while process.isRunning, ContinuousClock.now - killed < .seconds(5) { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { logger.error("a workspace process did not report its end after SIGKILL", metadata: ["workspace": "\(id)"]) }
    }

    private func waitUntilReady(_ entry: Running) async throws {
        let deadline = ContinuousClock.now + configuration.readyTimeout
        let client = HTTPClient.shared
        while ContinuousClock.now < deadline {
            guard entry.process.isRunning else {
                throw WorkspaceError("JupyterLab exited at start (status \(entry.process.terminationStatus)):\n\(Self.tail(of: entry.logFile))")
            }
            var request = HTTPClientRequest(url: entry.workspace.url + "api/status")
            request.headers.add(name: "Authorization", value: "token \(entry.workspace.token)")
            if let response = try? await client.execute(request, timeout: .seconds(2)), response.status == .ok { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw WorkspaceError("JupyterLab did not become ready within \(configuration.readyTimeout)")
    }

    // MARK: Warm pool

    private func takeFromPool(for request: WorkspaceRequest) -> Running? {
        guard request.environment.isEmpty, directories[request.session] == nil else { return nil }
        while !pool.isEmpty {
            let entry = pool.removeFirst()
            if entry.process.isRunning { return entry }
        }
        return nil
    }

    /// Keeps `warmPool` servers started, one start at a time, until cancelled. Three failed starts
    /// in a row stop the refills: a broken install should not spin.
    private func fillPool() async {
        while !Task.isCancelled {
            if pool.count < configuration.warmPool, poolFailures < 3 {
                await launchPoolMember()
            } else {
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    private func launchPoolMember() async {
        let id = "p-" + Self.randomToken().prefix(10)
        do {
            var entry = try launch(id: id, session: "", directory: configuration.root + "/pool-" + id, environment: [:])
            do {
                try await waitUntilReady(entry)
            } catch {
                await terminate(entry.process, id: entry.workspace.id)
                throw error
            }
            entry.ready = true
            pool.append(entry)
            poolFailures = 0
        } catch {
            // Shutting down is not a failure of the install.
            if !Task.isCancelled { poolFailures += 1 }
            logger.error("could not start a warm workspace", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Helpers

    static func tail(of logFile: String, lines: Int = 8) -> String {
        (try? String(contentsOfFile: logFile, encoding: .utf8))?.split(separator: "\n").suffix(lines).joined(separator: "\n") ?? ""
    }

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }
}

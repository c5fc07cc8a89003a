import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OPECore

/// One JupyterLab process per session on this machine, from the project's virtualenv, each in a
/// ``Sandbox`` of its own (its account, mount view, process and network namespace and limits).
///
/// JupyterLab listens on a unix socket in the sandbox's private runtime folder (the proxy is the
/// only one who reaches it), with a random token that is handed over in its environment and
/// dropped there at once, so no command line and no kernel ever shows it. Its base URL is
/// `/w/{id}/` and its root the session's folder under the data dir — a quota'd volume where the
/// machine allows (``TeamVolume``). Stopping ends every process of the sandbox, kernels included,
/// so nothing is left running. A server that ends by itself is reported on ``exits`` at once
/// (the process's exit handler), so the caller can restart it; a sandbox that hit a limit
/// is reported on ``notices``.
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
        /// How a warm pool member's id (and so its URL path) begins: `p-`, or on a cluster's core
        /// `p<core>-`, so an edge knows which core to ask about it (``ShardMap/poolPrefix(core:)``).
        public var poolPrefix = "p-"
        /// Where participant code runs (``Sandbox/off(_:)`` only on a machine nobody else uses).
        public var sandbox: Sandbox
        /// The server's changes to the kits' default limits (`ope serve --limits`).
        public var limits: WorkspaceLimits.Changes
        /// How often limits and disk use are looked at for ``notices``.
        public var monitorInterval: Duration = .seconds(1)

        public init(
            venv: String, root: String, sandbox: Sandbox, limits: WorkspaceLimits.Changes = .init(), readyTimeout: Duration = .seconds(90),
            warmPool: Int = 0
        ) {
            self.venv = venv
            self.root = root
            self.sandbox = sandbox
            self.limits = limits
            self.readyTimeout = readyTimeout
            self.warmPool = warmPool
        }
    }

    private struct Running {
        var workspace: Workspace
        var process: ChildProcess
        var logFile: String
        var limits: WorkspaceLimits
        /// Reported on `exits` only once it was ready: a failed start is the starter's to report.
        var ready = false
        /// What the sandbox had run into when last looked at, and whether the disk was full.
        var counters = CgroupHierarchy.Counters()
        var diskFull = false
        /// The team's folder as mounted (its quota'd volume), if it has one.
        var volume: String?
    }

    let configuration: Configuration
    let logger: Logger
    private var running: [String: Running] = [:]
    private var pool: [Running] = []
    private var poolFailures = 0
    /// Folders of sessions that took a pooled server, so restarts find their files.
    private var directories: [String: String] = [:]
    /// Team folders with a mounted volume, unmounted at shutdown.
    private var mountedFolders: Set<String> = []
    /// Sessions asked to stop while their start had not launched anything yet: the start gives up.
    private var stopRequested: Set<String> = []
    public nonisolated let exits: AsyncStream<WorkspaceExit>
    private let exitContinuation: AsyncStream<WorkspaceExit>.Continuation
    public nonisolated let notices: AsyncStream<WorkspaceNotice>
    private let noticeContinuation: AsyncStream<WorkspaceNotice>.Continuation
    /// Process exits as their waiting threads report them, handled by `run()`.
    private nonisolated let terminations: AsyncStream<(pid: Int32, status: Int32)>
    private nonisolated let terminationContinuation: AsyncStream<(pid: Int32, status: Int32)>.Continuation

    public init(configuration: Configuration, logger: Logger = Logger(label: "ope.workspaces")) {
        self.configuration = configuration
        self.logger = logger
        (exits, exitContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        (notices, noticeContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(256))
        (terminations, terminationContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    public func workspace(session: String) -> Workspace? {
        guard let entry = running[session], entry.ready else { return nil }
        return entry.workspace
    }

    /// Servers waiting in the warm pool, ready.
    public var warmCount: Int { pool.count }

    public func run() async {
        let leftovers = configuration.sandbox.removeLeftovers()
        if !leftovers.isEmpty { logger.notice("ended workspaces left by an earlier run", metadata: ["workspaces": "\(leftovers)"]) }
        await withDiscardingTaskGroup { group in
            group.addTask { [self] in
                for await (pid, status) in terminations { await processExited(pid: pid, status: status) }
            }
            // These run until this task is cancelled (server shutdown).
            group.addTask { [self] in await fillPool() }
            group.addTask { [self] in await monitorLimits() }
        }
    }

    public func start(_ request: WorkspaceRequest) async throws -> Workspace {
        stopRequested.remove(request.session)
        if let existing = running[request.session], existing.process.isRunning, existing.ready { return existing.workspace }
        let limits = request.module.workspaceLimits(server: configuration.limits)
        if let entry = takeFromPool(for: request, limits: limits) {
            try configuration.sandbox.apply(limits, to: entry.workspace.id)
            try WorkspaceFiles.seed(entry.workspace.directory, from: request.module)
            try configuration.sandbox.handOver(entry.workspace.directory, to: entry.workspace.id)
            let link = configuration.root + "/" + request.session
            try? FileManager.default.removeItem(atPath: link)
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: entry.workspace.directory)
            var taken = entry
            taken.workspace.session = request.session
            taken.limits = limits
            running[request.session] = taken
            directories[request.session] = entry.workspace.directory
            logger.info("workspace taken from the warm pool", metadata: ["session": "\(request.session)", "workspace": "\(entry.workspace.id)"])
            return taken.workspace
        }
        let directory = directories[request.session] ?? configuration.root + "/" + request.session
        try await prepareFolder(directory, limits: limits)
        // A stop that came while the folder was prepared wins: nothing is launched.
        if stopRequested.remove(request.session) != nil { throw WorkspaceError("the workspace was stopped while starting") }
        try WorkspaceFiles.seed(directory, from: request.module)
        var environment = request.environment
        environment["OPE_SESSION"] = request.session
        environment["OPE_MODULE"] = request.module.id
        var entry = try launch(id: request.session, session: request.session, directory: directory, environment: environment, limits: limits)
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
        guard let entry = running.removeValue(forKey: session) else {
            stopRequested.insert(session)
            return
        }
        await terminate(entry.process, id: entry.workspace.id)
        logger.info("workspace stopped", metadata: ["session": "\(session)"])
    }

    public func finish(session: String) async {
        await stop(session: session)
        // The files stay in the volume's image; it is mounted again if the session comes back.
        let directory = directories.removeValue(forKey: session) ?? configuration.root + "/" + session
        let folder = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        guard mountedFolders.remove(folder) != nil else { return }
        await TeamVolume.unmount(folder)
    }

    public func stopAll() async {
        for session in running.keys { await stop(session: session) }
        let warm = pool
        pool.removeAll()
        poolFailures = Int.max  // no refills while shutting down
        for entry in warm { await terminate(entry.process, id: entry.workspace.id) }
        for folder in mountedFolders { await TeamVolume.unmount(folder) }
        mountedFolders.removeAll()
        configuration.sandbox.shutDown()
    }

    // MARK: Processes

    /// Mounts the team's volume on its folder (where quotas are enforced) and remembers it.
    private func prepareFolder(_ directory: String, limits: WorkspaceLimits) async throws {
        guard configuration.sandbox.host?.volumes == true else {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            return
        }
        let folder = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        // Noted before the mount, which takes a while: a session that ends meanwhile (`finish`) or
        // a shutdown (`stopAll`) takes the note away, and the volume is unmounted here instead of
        // staying mounted with nobody to unmount it.
        mountedFolders.insert(folder)
        do {
            try await TeamVolume.mount(folder, size: limits.diskBytes)
        } catch {
            mountedFolders.remove(folder)
            throw error
        }
        guard mountedFolders.contains(folder) else {
            await TeamVolume.unmount(folder)
            throw WorkspaceError("the workspace was stopped while its volume was mounted")
        }
    }

    private func launch(id: String, session: String, directory: String, environment extra: [String: String], limits: WorkspaceLimits) throws -> Running {
        let jupyter = configuration.venv + "/bin/jupyter-lab"
        guard FileManager.default.isExecutableFile(atPath: jupyter) else {
            throw WorkspaceError("JupyterLab not found at \(jupyter): run scripts/setup-venv.sh")
        }
        let sandbox = configuration.sandbox
        let view = sandbox.view(id: id, home: directory)
        let configFolder = try JupyterConfig.write(in: sandbox.configuration.runtimeRoot)
        let token = Self.randomToken()
        let basePath = "/w/\(id)/"
        let socket = view.runtime + "/jupyter.sock"
        var command = [
            jupyter, "--no-browser", "--ServerApp.sock=\(socket)", "--ServerApp.sock_mode=0600", "--ServerApp.base_url=\(basePath)",
            "--ServerApp.root_dir=\(view.home)", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            // Browsers reach it only through the gateway, which checks Origin itself.
            "--ServerApp.trust_xheaders=True",
            // No language servers are installed; the LSP extension would only cost start time and memory.
            "--ServerApp.jpserver_extensions={'jupyter_lsp': False}",
        ]
        // Without a sandbox on a root machine (containers, CI) JupyterLab refuses root unless told.
        if !sandbox.isOn, geteuid() == 0 { command.append("--allow-root") }
        var environment: [String: String] = [
            "PATH": configuration.venv + "/bin:/usr/local/bin:/usr/bin:/bin",
            // Our config (read-only): takes the token from the environment and drops it there.
            "JUPYTER_CONFIG_DIR": configFolder, JupyterConfig.tokenVariable: token,
            "JUPYTER_RUNTIME_DIR": view.runtime + "/jupyter",
        ]
        // Every workspace gets them, so a warm one serves any kit.
        for (key, value) in KitDefaults.spark.merging(KitDefaults.sql, uniquingKeysWith: { $1 }) { environment[key] = value }
        for (key, value) in extra { environment[key] = value }
        // Before the sandbox is prepared, which hands the folder (this file too) to its account.
        if let database = DatabaseCredentials(environment: extra) {
            try database.writeClientDefaults(into: directory, socket: view.databaseSocket ?? database.socket)
        }
        let launch = try sandbox.prepare(
            Sandbox.Spec(
                id: id, command: command, home: directory, environment: environment,
                readOnly: [configuration.venv, configFolder] + PythonInstall.prefixes(of: configuration.venv),
                databaseSocket: extra[DatabaseCredentials.socketVariable], limits: limits
            )
        )
        let logFile = configuration.root + "/\(id).log"
        let log = open(logFile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard log >= 0 else {
            sandbox.release(id)
            throw WorkspaceError("cannot write the workspace's log \(logFile): errno \(errno)")
        }
        defer { close(log) }
        let terminations = terminationContinuation
        let process: ChildProcess
        do {
            process = try ChildProcess(
                launch.executable, arguments: launch.arguments, environment: launch.environment, directory: directory, output: log, error: log
            ) { pid, status in terminations.yield((pid, status)) }
        } catch {
            sandbox.release(id)
            throw error
        }
        let socketOnHost = view.runtimeOnHost + "/jupyter.sock"
        let workspace = Workspace(
            id: id, session: session, url: Workspace.url(socket: socketOnHost, path: basePath), token: token, directory: directory,
            processID: process.pid, socketPath: socketOnHost
        )
        let folder = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        return Running(workspace: workspace, process: process, logFile: logFile, limits: limits, volume: mountedFolders.contains(folder) ? folder : nil)
    }

    private func processExited(pid: Int32, status: Int32) {
        if let index = pool.firstIndex(where: { $0.process.pid == pid }) {
            configuration.sandbox.release(pool[index].workspace.id)
            pool.remove(at: index)
            logger.warning("a warm workspace exited", metadata: ["status": "\(status)"])
            return
        }
        guard let (session, entry) = running.first(where: { $0.value.process.pid == pid }), entry.ready else { return }
        running[session] = nil
        // Its kernels outlive a crashed server; the restarted one starts its own.
        let orphans = configuration.sandbox.release(entry.workspace.id)
        let tail = Self.tail(of: entry.logFile)
        logger.warning("workspace exited", metadata: ["session": "\(session)", "status": "\(status)", "orphans": "\(orphans)"])
        exitContinuation.yield(WorkspaceExit(session: session, status: status, logTail: tail))
    }

    /// Asks every process of the sandbox to end, then ends what is left after 5 s.
    private func terminate(_ process: ChildProcess, id: String) async {
        let sandbox = configuration.sandbox
        await process.terminateGroup(grace: .seconds(5)) { sandbox.signal(id, SIGTERM) }
        // Whatever is left (kernels that ignored SIGTERM, processes in sessions of their own) goes now.
        sandbox.release(id)
        if await !process.waitForExit(within: .seconds(5)) {
            logger.error("a workspace process did not report its end after SIGKILL", metadata: ["workspace": "\(id)"])
        }
    }

    private func waitUntilReady(_ entry: Running) async throws {
        let deadline = ContinuousClock.now + configuration.readyTimeout
        let client = HTTPClient.shared
        while ContinuousClock.now < deadline {
            guard entry.process.isRunning else {
                throw WorkspaceError("JupyterLab exited at start (status \(entry.process.exitStatus ?? -1)):\n\(Self.tail(of: entry.logFile))")
            }
            if entry.workspace.socketPath.map({ FileManager.default.fileExists(atPath: $0) }) ?? true {
                var request = HTTPClientRequest(url: entry.workspace.url + "api/status")
                request.headers.add(name: "Authorization", value: "token \(entry.workspace.token)")
                // Over a unix socket there is no host to name, and JupyterLab refuses requests without one.
                request.headers.add(name: "Host", value: "localhost")
                if let response = try? await client.execute(request, timeout: .seconds(2)), response.status == .ok { return }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw WorkspaceError("JupyterLab did not become ready within \(configuration.readyTimeout)")
    }

    // MARK: Limits

    /// Looks at every running sandbox's counters and disk, and tells (once per new event) when one
    /// hit a limit: the kernel killed a process for memory, a fork failed at the process limit,
    /// the team's folder is full.
    private func monitorLimits() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.monitorInterval)
            for (session, entry) in running where entry.ready {
                let now = configuration.sandbox.counters(of: entry.workspace.id)
                var updated = entry
                if now.oomKills > entry.counters.oomKills {
                    notice(session, .memory, "the kernel was stopped: memory limit \(ByteSize.text(entry.limits.memoryBytes)) reached")
                }
                if now.processLimitHits > entry.counters.processLimitHits {
                    notice(session, .processes, "too many processes: the limit is \(entry.limits.processes); new ones were refused")
                }
                updated.counters = now
                if let volume = entry.volume, let usage = TeamVolume.usage(volume) {
                    // ext4 refuses writes while a little space is still free (its reserve for
                    // metadata), so "full" starts a few per cent before the end.
                    let full = usage.available < max(4 << 20, (usage.used + usage.available) / 32)
                    if full, !entry.diskFull {
                        notice(
                            session, .disk,
                            "the team's folder is full: disk limit \(ByteSize.text(entry.limits.diskBytes)); delete files to be able to save again")
                    }
                    updated.diskFull = full
                }
                running[session] = updated
            }
        }
    }

    private func notice(_ session: String, _ limit: WorkspaceNotice.Limit, _ message: String) {
        logger.notice("workspace hit a limit", metadata: ["session": "\(session)", "limit": "\(limit.rawValue)"])
        noticeContinuation.yield(WorkspaceNotice(session: session, limit: limit, message: message))
    }

    // MARK: Warm pool

    private func takeFromPool(for request: WorkspaceRequest, limits: WorkspaceLimits) -> Running? {
        guard request.environment.isEmpty, directories[request.session] == nil else { return nil }
        // A warm server was made with the default disk and no network; other modules start cold.
        guard limits.diskBytes == poolLimits.diskBytes, limits.network == poolLimits.network else { return nil }
        while !pool.isEmpty {
            let entry = pool.removeFirst()
            if entry.process.isRunning { return entry }
        }
        return nil
    }

    /// What warm servers start with: the python kit's defaults with the server's changes.
    private var poolLimits: WorkspaceLimits { WorkspaceLimits.defaults(for: .python).applying(configuration.limits) }

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
        let id = configuration.poolPrefix + Self.randomToken().prefix(10)
        do {
            let directory = configuration.root + "/pool-" + id
            try await prepareFolder(directory, limits: poolLimits)
            var entry = try launch(id: id, session: "", directory: directory, environment: [:], limits: poolLimits)
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
        return Hex.encode((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }
}

import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OPECore

/// One JupyterLab process per session on this machine, from the project's virtualenv.
///
/// Each runs in its own process group on a free loopback port, with a random token and its base
/// URL under `/w/{session}/`, in the session's folder under the data dir. Stopping ends the whole
/// group (kernels included), so nothing is left running.
public actor LocalJupyterBackend: WorkspaceBackend {
    public struct Configuration: Sendable {
        /// The virtualenv holding `bin/jupyter-lab`.
        public var venv: String
        /// Sessions' folders go under `<root>/<session>`; logs and Jupyter's own state beside them.
        public var root: String
        /// How long a JupyterLab may take to answer before the start counts as failed.
        public var readyTimeout: Duration = .seconds(90)

        public init(venv: String, root: String, readyTimeout: Duration = .seconds(90)) {
            self.venv = venv
            self.root = root
            self.readyTimeout = readyTimeout
        }
    }

    private struct Running {
        var workspace: Workspace
        var process: Process
    }

    let configuration: Configuration
    let logger: Logger
    private var running: [String: Running] = [:]

    public init(configuration: Configuration, logger: Logger = Logger(label: "ope.workspaces")) {
        self.configuration = configuration
        self.logger = logger
    }

    public func workspace(session: String) -> Workspace? { running[session]?.workspace }

    public func start(_ request: WorkspaceRequest) async throws -> Workspace {
        if let existing = running[request.session], existing.process.isRunning { return existing.workspace }
        let jupyter = configuration.venv + "/bin/jupyter-lab"
        guard FileManager.default.isExecutableFile(atPath: jupyter) else {
            throw WorkspaceError("JupyterLab not found at \(jupyter): run scripts/setup-venv.sh")
        }
        let directory = configuration.root + "/" + request.session
        try WorkspaceFiles.seed(directory, from: request.module)
        let state = configuration.root + "/.jupyter"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)

        let port = try Self.freePort()
        let token = Self.randomToken()
        let basePath = "/w/\(request.session)/"
        let process = Process()
        // Foundation starts the child as the leader of a new process group, so stopping the
        // group ends JupyterLab's kernels and terminals with it.
        process.executableURL = URL(fileURLWithPath: jupyter)
        process.arguments = [
            "--no-browser", "--ServerApp.ip=127.0.0.1", "--ServerApp.port=\(port)", "--ServerApp.port_retries=0",
            "--IdentityProvider.token=\(token)", "--ServerApp.base_url=\(basePath)", "--ServerApp.root_dir=\(directory)",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--ServerApp.allow_remote_access=False",
        ]
        // Containers and CI run as root; JupyterLab refuses that unless told.
        if getuid() == 0 { process.arguments?.append("--allow-root") }
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = configuration.venv + "/bin:" + (environment["PATH"] ?? "/usr/bin:/bin")
        // Keep each workspace away from the user's own Jupyter settings and from the others'.
        environment["JUPYTER_CONFIG_DIR"] = state + "/config"
        environment["JUPYTER_DATA_DIR"] = state + "/data"
        environment["JUPYTER_RUNTIME_DIR"] = state + "/runtime-" + request.session
        environment["IPYTHONDIR"] = state + "/ipython"
        environment["OPE_SESSION"] = request.session
        environment["OPE_MODULE"] = request.module.id
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let logFile = configuration.root + "/\(request.session).log"
        FileManager.default.createFile(atPath: logFile, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()

        let workspace = Workspace(session: request.session, url: "http://127.0.0.1:\(port)\(basePath)", token: token, directory: directory)
        running[request.session] = Running(workspace: workspace, process: process)
        do {
            try await waitUntilReady(workspace, process: process, logFile: logFile)
        } catch {
            await stop(session: request.session)
            throw error
        }
        logger.info("workspace ready", metadata: ["session": "\(request.session)", "port": "\(port)"])
        return workspace
    }

    public func stop(session: String) async {
        guard let entry = running.removeValue(forKey: session) else { return }
        let process = entry.process
        guard process.isRunning else { return }
        let group = -process.processIdentifier
        kill(group, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        // Whatever is left of the group (kernels that ignored SIGTERM) goes now.
        kill(group, SIGKILL)
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        logger.info("workspace stopped", metadata: ["session": "\(session)"])
    }

    /// Stops every workspace (server shutdown).
    public func stopAll() async {
        for session in running.keys { await stop(session: session) }
    }

    private func waitUntilReady(_ workspace: Workspace, process: Process, logFile: String) async throws {
        let deadline = ContinuousClock.now + configuration.readyTimeout
        let client = HTTPClient.shared
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                let tail = (try? String(contentsOfFile: logFile, encoding: .utf8))?.split(separator: "\n").suffix(5).joined(separator: "\n") ?? ""
                throw WorkspaceError("JupyterLab exited at start (status \(process.terminationStatus)):\n\(tail)")
            }
            var request = HTTPClientRequest(url: workspace.url + "api/status")
            request.headers.add(name: "Authorization", value: "token \(workspace.token)")
            if let response = try? await client.execute(request, timeout: .seconds(2)), response.status == .ok { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw WorkspaceError("JupyterLab did not become ready within \(configuration.readyTimeout)")
    }

    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw WorkspaceError("cannot open a socket to find a free port") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw WorkspaceError("cannot find a free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }
}

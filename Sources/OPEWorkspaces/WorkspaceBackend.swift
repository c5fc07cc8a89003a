import Foundation
import OPECore

/// Starts and stops the shared JupyterLab of a session. The local backend runs processes on
/// this machine; a Kubernetes backend runs pods. Lobby, rooms and gateway see only this.
public protocol WorkspaceBackend: Sendable {
    /// Starts (or restarts) the workspace of `request.session` and returns once it answers.
    func start(_ request: WorkspaceRequest) async throws -> Workspace
    /// Stops the session's workspace; its saved files stay for a restart.
    func stop(session: String) async
    /// The session is over: stops its workspace and releases what its files were kept on (the
    /// files themselves stay, for the record).
    func finish(session: String) async
    /// The running workspace of a session, if any.
    func workspace(session: String) async -> Workspace?
    /// Sessions whose workspace ended without being asked to (a crash), as it happens.
    var exits: AsyncStream<WorkspaceExit> { get }
    /// Workspaces that hit a limit (memory, processes, disk), as it happens.
    var notices: AsyncStream<WorkspaceNotice> { get }
    /// Watches the workspaces' processes and keeps the warm pool (if any) filled, until cancelled.
    func run() async
    /// Stops every workspace, the warm pool included (server shutdown).
    func stopAll() async
    /// Someone used the session's workspace (the proxy saw traffic). Called on every proxied
    /// request, so it must be cheap; a backend that culls elsewhere passes it on, throttled.
    func noteActivity(session: String, at time: Date)
}

extension WorkspaceBackend {
    public func noteActivity(session: String, at time: Date) {}
}

/// What a workspace is started for.
public struct WorkspaceRequest: Sendable, Hashable {
    public var session: String
    public var module: Module
    /// Per-session settings handed to the workspace and its kernels (e.g. `OPE_DB_*` for the sql kit).
    public var environment: [String: String]
    /// The team as it is now (username → role), for backends that publish it (Kubernetes).
    public var members: [(user: String, role: String)]
    /// The experiment condition the session was assigned, if any.
    public var condition: String?

    public init(session: String, module: Module, environment: [String: String] = [:], members: [(user: String, role: String)] = [], condition: String? = nil) {
        self.session = session
        self.module = module
        self.environment = environment
        self.members = members
        self.condition = condition
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.session == b.session && a.module == b.module && a.environment == b.environment && a.condition == b.condition
            && a.members.map(\.user) == b.members.map(\.user) && a.members.map(\.role) == b.members.map(\.role)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(session)
        hasher.combine(module)
    }
}

/// A running workspace, as the gateway's proxy reaches it.
public struct Workspace: Sendable, Hashable, Codable {
    /// The path segment people reach it under, `/w/{id}/`: the session id for a workspace
    /// started for the session, the pool id for one taken from the warm pool.
    public var id: String
    public var session: String
    /// Where JupyterLab listens, including its base path, e.g. `http://127.0.0.1:41234/w/s-abc/`.
    public var url: String
    /// JupyterLab's token: the proxy adds it; it never reaches a browser.
    public var token: String
    /// The group's files.
    public var directory: String
    /// The server's process (local backend), for memory figures.
    public var processID: Int32?
    /// The unix socket JupyterLab listens on (local backend), which ``url`` names as its host.
    public var socketPath: String?

    public init(id: String, session: String, url: String, token: String, directory: String, processID: Int32? = nil, socketPath: String? = nil) {
        self.id = id
        self.session = session
        self.url = url
        self.token = token
        self.directory = directory
        self.processID = processID
        self.socketPath = socketPath
    }

    /// An `http+unix` URL for a server on unix socket `socket` (its path as the percent-encoded
    /// host, as AsyncHTTPClient reads it), with `path` after it.
    public static func url(socket: String, path: String) -> String {
        var allowed = CharacterSet.urlHostAllowed
        allowed.remove(charactersIn: "/:%")
        return "http+unix://" + (socket.addingPercentEncoding(withAllowedCharacters: allowed) ?? socket) + path
    }

    /// Scheme, host and port of `url`: where the proxy sends requests (their paths are kept).
    public var origin: String {
        guard let schemeEnd = url.range(of: "://"), let pathStart = url[schemeEnd.upperBound...].firstIndex(of: "/") else { return url }
        return String(url[..<pathStart])
    }

    /// The path under the gateway, `/w/{id}/`.
    public var path: String { "/w/\(id)/" }
}

/// A workspace that hit one of its limits; the team is told in words.
public struct WorkspaceNotice: Sendable, Hashable {
    public enum Limit: String, Sendable, Hashable {
        case memory, processes, disk
    }

    public var session: String
    public var limit: Limit
    /// What happened, for the team: "the kernel was stopped: memory limit 2 GiB reached".
    public var message: String

    public init(session: String, limit: Limit, message: String) {
        self.session = session
        self.limit = limit
        self.message = message
    }
}

/// A workspace that ended by itself.
public struct WorkspaceExit: Sendable, Hashable {
    public var session: String
    public var status: Int32
    /// The last lines of its log, to tell the team and the operator why.
    public var logTail: String
}

/// Why a workspace could not be started, in words for the team and the log.
public struct WorkspaceError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

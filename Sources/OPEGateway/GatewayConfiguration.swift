import Foundation
import OPECore
import OPEModules
import OPEWorkspaces

/// Everything `ope serve` decides before the server starts.
public struct GatewayConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var dataDirectory: String
    /// Folders holding modules (each sub-folder with a `module.yaml`).
    public var moduleFolders: [String]
    /// Git repositories holding modules, from `ope.yaml`.
    public var repositories: [ModuleRepository]
    /// The URL people use, when OPE sits behind a proxy; `https` makes cookies Secure.
    public var publicURL: String?
    /// `/metrics` answers only this bearer token; without one, only callers on this machine.
    public var metricsToken: String?
    /// Timeouts and limits that keep slow, idle and numerous connections from holding the server.
    public var connections = ConnectionLimits()
    /// How long a session keeps members' seats while everyone is away.
    public var gracePeriod: Duration = .seconds(120)
    /// How often the lobby and session timers run.
    public var tickInterval: Duration = .milliseconds(250)
    /// How often open sockets' credentials are checked again (revocations made in this process
    /// close them at once; this catches other processes' and ends that pass).
    public var credentialCheckInterval: Duration = .seconds(30)
    /// The time every timer of the server runs on (lobby, sessions, bots, external bots, idle
    /// culling, room rate limits); tests pass a manual clock and move it on themselves.
    public var clock: any PlatformClock = SystemClock()
    /// Runs each session's JupyterLab; nil runs sessions without workspaces.
    public var workspaceBackend: (any WorkspaceBackend)?
    public var workspaces = WorkspaceService.Configuration()
    /// Serve workspaces on this port instead of under the platform's own origin, so notebook
    /// output cannot script the platform's pages (see docs/workspaces.md).
    public var workspacePort: Int?
    /// The workspace origin's URL as browsers reach it; default `http://<host>:<workspacePort>`.
    public var workspaceURL: String?
    /// The virtualenv task tests run with (its `bin` first on PATH).
    public var venv: String?
    /// Where task tests run (the workspaces' backend has its own); nil only without workspaces.
    public var sandbox: Sandbox?
    /// The server's changes to the kits' default limits (`ope serve --limits`).
    public var limits = WorkspaceLimits.Changes()
    /// Per-session kit settings (the sql kit's database) and their release at session end.
    public var kitEnvironment: @Sendable (Module, String) async throws -> [String: String] = { _, _ in [:] }
    /// Per-session kit settings for task test runs, over the workspace's (the sql kit's test database).
    public var kitTestEnvironment: @Sendable (Module, String) async throws -> [String: String] = { _, _ in [:] }
    public var kitCleanup: @Sendable (Module, String) async -> Void = { _, _ in }
    /// Stops what the kits run (the sql kit's MariaDB) once every workspace has stopped.
    public var kitShutdown: @Sendable () async -> Void = {}

    public init(
        host: String = "127.0.0.1", port: Int = 8080, dataDirectory: String, moduleFolders: [String] = [], repositories: [ModuleRepository] = [],
        publicURL: String? = nil
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.moduleFolders = moduleFolders
        self.repositories = repositories
        self.publicURL = publicURL
    }

    /// Cookies get the Secure flag when people reach OPE over TLS.
    public var secureCookies: Bool { publicURL?.lowercased().hasPrefix("https://") ?? false }

    /// Where browsers open workspaces, when they have their own origin.
    public var workspaceOrigin: String? {
        guard let workspacePort else { return nil }
        var url = workspaceURL ?? "http://\(host):\(workspacePort)"
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    /// Origins the platform's pages are served from (they embed the workspace origin's JupyterLab).
    var platformOrigins: Set<String> {
        var origins = allowedOrigins
        origins.insert("http://\(host):\(port)")
        if host == "127.0.0.1" || host == "0.0.0.0" { origins.insert("http://localhost:\(port)") }
        return origins
    }

    /// Origins that may send state-changing requests besides the request's own host.
    var allowedOrigins: Set<String> {
        guard let publicURL else { return [] }
        var origin = publicURL
        while origin.hasSuffix("/") { origin.removeLast() }
        if let schemeEnd = origin.range(of: "://"), let pathStart = origin[schemeEnd.upperBound...].firstIndex(of: "/") {
            origin = String(origin[..<pathStart])
        }
        return [origin]
    }
}

/// A configuration `buildApplication` cannot run with, in words.
public struct GatewayConfigurationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

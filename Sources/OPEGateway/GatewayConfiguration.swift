import Foundation
import OPECore
import OPEModules
import OPERuntime
import OPEWorkspaces

/// Everything `ope serve` decides before the server starts.
public struct GatewayConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var dataDirectory: String
    /// Lobbies, sessions, bots, workspaces and task tests: what the runtime is started with.
    public var runtime: RuntimeConfiguration
    /// The URL people use, when OPE sits behind a proxy; `https` makes cookies Secure.
    public var publicURL: String?
    /// `/metrics` answers only this bearer token; without one, only callers on this machine.
    public var metricsToken: String?
    /// Timeouts and limits that keep slow, idle and numerous connections from holding the server.
    public var connections = ConnectionLimits()
    /// How often open sockets' credentials are checked again (revocations made in this process
    /// close them at once; this catches other processes' and ends that pass).
    public var credentialCheckInterval: Duration = .seconds(30)
    /// Serve workspaces on this port instead of under the platform's own origin, so notebook
    /// output cannot script the platform's pages (see docs/workspaces.md).
    public var workspacePort: Int?
    /// The workspace origin's URL as browsers reach it; default `http://<host>:<workspacePort>`.
    public var workspaceURL: String?
    /// Whether the workspace proxy looks into members' collaboration, kernel and terminal sockets
    /// (the attributed record, enforced roles). Off only to measure what looking costs
    /// (`ope-bench activity`): with it off, no edit or run is attributed and roles are not enforced.
    public var inspectsWorkspaceSockets = true
    public init(
        host: String = "127.0.0.1", port: Int = 8080, dataDirectory: String, moduleFolders: [String] = [], repositories: [ModuleRepository] = [],
        publicURL: String? = nil
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.runtime = RuntimeConfiguration(moduleFolders: moduleFolders, repositories: repositories)
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

import OPECore

/// Starts and stops the shared JupyterLab of a session. The local backend runs processes on
/// this machine; a Kubernetes backend runs pods. Lobby, rooms and gateway see only this.
public protocol WorkspaceBackend: Sendable {
    /// Starts (or restarts) the workspace of `request.session` and returns once it answers.
    func start(_ request: WorkspaceRequest) async throws -> Workspace
    /// Stops the session's workspace; its saved files stay for a restart.
    func stop(session: String) async
    /// The running workspace of a session, if any.
    func workspace(session: String) async -> Workspace?
}

/// What a workspace is started for.
public struct WorkspaceRequest: Sendable, Hashable {
    public var session: String
    public var module: Module

    public init(session: String, module: Module) {
        self.session = session
        self.module = module
    }
}

/// A running workspace, as the gateway's proxy reaches it.
public struct Workspace: Sendable, Hashable {
    public var session: String
    /// Where JupyterLab listens, including its base path, e.g. `http://127.0.0.1:41234/w/s-abc/`.
    public var url: String
    /// JupyterLab's token: the proxy adds it; it never reaches a browser.
    public var token: String
    /// The group's files.
    public var directory: String

    public init(session: String, url: String, token: String, directory: String) {
        self.session = session
        self.url = url
        self.token = token
        self.directory = directory
    }
}

/// Why a workspace could not be started, in words for the team and the log.
public struct WorkspaceError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

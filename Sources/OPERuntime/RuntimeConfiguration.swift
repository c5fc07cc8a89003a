import Foundation
import OPECore
import OPEKube
import OPEModules
import OPEWorkspaces

/// Everything the runtime (lobbies, sessions, bots, workspaces, task tests) is started with;
/// nothing here is about HTTP.
public struct RuntimeConfiguration: Sendable {
    /// Folders holding modules (each sub-folder with a `module.yaml`).
    public var moduleFolders: [String]
    /// Git repositories holding modules, from `ope.yaml`.
    public var repositories: [ModuleRepository]
    /// How long a session keeps members' seats while everyone is away.
    public var gracePeriod: Duration = .seconds(120)
    /// How often the lobby and session timers run.
    public var tickInterval: Duration = .milliseconds(250)
    /// The time every timer of the platform runs on (lobby, sessions, bots, external bots, idle
    /// culling, room rate limits); tests pass a manual clock and move it on themselves.
    public var clock: any PlatformClock = SystemClock()
    /// Runs each session's JupyterLab; nil runs sessions without workspaces.
    public var workspaceBackend: (any WorkspaceBackend)?
    public var workspaces = WorkspaceService.Configuration()
    /// The virtualenv task tests run with (its `bin` first on PATH).
    public var venv: String?
    /// Where task tests and bot commands run (the workspaces' backend has its own); nil only without workspaces.
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

    /// In a cluster (`ope serve --role core`), which core this runtime is: it holds the lobbies of
    /// the modules whose home it is, and the teams they form. Nil for the all-in-one server.
    public var shard: ShardPlace?

    /// Task tests run by a grading service next to the team's files (Kubernetes), not here.
    public var grading: TaskTestService.Remote?
    /// On Kubernetes: accounts from `OPEUser` objects and modules from `OPEModule` objects in
    /// this namespace (the workspaces are `OPESession` objects, through the workspace backend).
    /// The team's files are then in the cluster, not here: task tests go to the workspace pod.
    public var kubernetes: KubernetesSource?

    public struct KubernetesSource: Sendable {
        public var client: KubeClient
        public var namespace: String
        public init(client: KubeClient, namespace: String) {
            self.client = client
            self.namespace = namespace
        }
    }

    public init(moduleFolders: [String] = [], repositories: [ModuleRepository] = []) {
        self.moduleFolders = moduleFolders
        self.repositories = repositories
    }
}

/// A configuration the runtime cannot start with, in words.
public struct RuntimeConfigurationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

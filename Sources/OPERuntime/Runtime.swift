import Logging
import OPECore
import OPEModules
import OPEStore
import OPEWorkspaces
import ServiceLifecycle

/// What the platform does, apart from any front door: the module catalog, lobbies and sessions,
/// workspaces and their task tests, plan bots and external bots, over one store.
///
/// The HTTP gateway, the CLI and the tests build one of these and talk to its parts; `services`
/// are what must run for it to work, in start order (a service group stops them in reverse, so
/// the bots stop before the workspaces they use, and the store closes last).
public struct Runtime: Sendable {
    public let store: Store
    public let catalog: ModuleCatalog
    public let sessions: SessionManager
    /// Nil when the platform runs without workspaces.
    public let workspaces: WorkspaceService?
    /// Runs a task's tests against a team's files; nil without workspaces.
    public let tests: TaskTestService?
    public let bots: BotService
    public let externalBots: ExternalBotService
    /// Members' document edits as the workspace proxy relays them, recorded coalesced.
    public let edits: EditActivity
    /// The dashboard's per-member figures of live teams.
    public let contributions: LiveContributions
    /// Writes `workspace.snapshot` events of the notebooks teams edit; nil without workspaces.
    public let snapshots: NotebookSnapshots?
    public let configuration: RuntimeConfiguration
    /// In start order: store, session timers, workspaces, bots.
    public let services: [any Service]

    /// Loads the modules, restores live sessions from the log and wires the parts together.
    /// Nothing runs until `services` are run.
    public init(_ configuration: RuntimeConfiguration, store: Store, logger: Logger) async throws {
        // Participant code never runs without a decision about its sandbox (Sandbox.off is one, said loudly).
        guard configuration.workspaceBackend == nil || configuration.sandbox != nil || configuration.kubernetes != nil else {
            throw RuntimeConfigurationError("workspaces need a sandbox for task tests and bot commands (Sandbox.make, or Sandbox.off for --no-sandbox)")
        }
        let syncService = RepositorySyncService(root: store.dataDirectory + "/repositories", logger: logger)
        let catalog = ModuleCatalog(
            folders: configuration.moduleFolders, repositories: configuration.repositories, syncService: syncService,
            hiddenTestsElsewhere: configuration.kubernetes != nil, logger: logger)
        await catalog.syncMissing()
        let sessions = SessionManager(
            store: store,
            configuration: .init(
                gracePeriod: configuration.gracePeriod, workspacesEnabled: configuration.workspaceBackend != nil, shard: configuration.shard),
            logger: logger, clock: configuration.clock
        )
        await sessions.update(modules: await catalog.modules)
        try await sessions.restore()
        let workspaces = configuration.workspaceBackend.map {
            WorkspaceService(
                backend: $0, sessions: sessions, events: store.events, configuration: configuration.workspaces, logger: logger,
                kitEnvironment: configuration.kitEnvironment, kitCleanup: configuration.kitCleanup, kitShutdown: configuration.kitShutdown,
                clock: configuration.clock
            )
        }
        let bots = BotService(
            sessions: sessions, store: store, workspaces: workspaces,
            commands: configuration.sandbox.map { BotService.Commands(sandbox: $0, venv: configuration.venv, limits: configuration.limits) }, logger: logger,
            clock: configuration.clock
        )
        let externalBots = ExternalBotService(sessions: sessions, store: store, logger: logger, clock: configuration.clock)
        self.store = store
        self.configuration = configuration
        self.catalog = catalog
        self.sessions = sessions
        self.workspaces = workspaces
        if let grading = configuration.grading, workspaces != nil {
            tests = TaskTestService(events: store.events, remote: grading, logger: logger, clock: configuration.clock)
        } else {
            tests = workspaces.flatMap { _ in
                configuration.sandbox.map {
                    TaskTestService(
                        events: store.events, venv: configuration.venv, sandbox: $0, limits: configuration.limits,
                        kitEnvironment: configuration.kitTestEnvironment,
                        logger: logger, clock: configuration.clock
                    )
                }
            }
        }
        self.bots = bots
        self.externalBots = externalBots
        edits = EditActivity(events: store.events, clock: configuration.clock)
        contributions = LiveContributions(reader: store.reader)
        let snapshots = workspaces.map {
            NotebookSnapshots(workspaces: $0, sessions: sessions, events: store.events, clock: configuration.clock, logger: logger)
        }
        self.snapshots = snapshots
        if let workspaces, let snapshots { workspaces.beforeFinishing { session in await snapshots.lastLook(at: session) } }
        var services: [any Service] = [
            StoreService(store: store, logger: logger),
            SessionTicker(
                sessions: sessions, events: store.events, canStart: { workspaces?.hasStartCapacity ?? true }, interval: configuration.tickInterval,
                clock: configuration.clock, logger: logger
            ),
        ]
        if let kubernetes = configuration.kubernetes, let folder = configuration.moduleFolders.first {
            // Accounts and modules follow their objects; a module change reloads the catalog.
            // In a cluster the accounts are core 0's alone (the edges ask it).
            if configuration.shard.map({ $0.index == 0 }) ?? true {
                services.append(UserSyncService(client: kubernetes.client, namespace: kubernetes.namespace, store: store, logger: logger))
            }
            services.append(
                ModuleSyncService(client: kubernetes.client, namespace: kubernetes.namespace, folder: folder, logger: logger) {
                    await catalog.reload()
                    await sessions.update(modules: await catalog.modules)
                })
        }
        if let workspaces { services.append(workspaces) }
        if workspaces != nil { services.append(edits) }
        // After the workspaces: at shutdown it stops first, with its last snapshots taken.
        if let snapshots { services.append(snapshots) }
        services += [bots, externalBots] as [any Service]
        self.services = services
    }
}

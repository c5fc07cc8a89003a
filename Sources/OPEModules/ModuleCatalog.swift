import Logging
import OPECore

/// The modules the platform offers right now, and what went wrong loading the others.
///
/// Modules come from local folders and from git repositories; ``sync()`` updates the
/// repositories and reloads everything, swapping the catalog only once loading is done.
public actor ModuleCatalog {
    public private(set) var modules: [Module] = []
    public private(set) var errors: [ModuleError] = []
    public private(set) var repositoryOutcomes: [RepositorySyncService.Outcome] = []
    let folders: [String]
    let repositories: [ModuleRepository]
    let syncService: RepositorySyncService?
    let logger: Logger

    /// Modules whose hidden tests live elsewhere (Kubernetes): see ``ModuleParser/hiddenTestsElsewhere``.
    let hiddenTestsElsewhere: Bool

    public init(
        folders: [String], repositories: [ModuleRepository] = [], syncService: RepositorySyncService? = nil, hiddenTestsElsewhere: Bool = false, logger: Logger
    ) {
        self.hiddenTestsElsewhere = hiddenTestsElsewhere
        self.folders = folders
        self.repositories = repositories
        self.syncService = syncService
        self.logger = logger
    }

    public func module(id: String) -> Module? { modules.first { $0.id == id } }

    /// Reads every module folder again (repositories as last synced).
    public func reload() {
        var paths = folders
        if let syncService {
            paths += repositories.filter(syncService.isCloned).map(syncService.modulesFolder(of:))
        }
        let report = ModuleLoader(hiddenTestsElsewhere: hiddenTestsElsewhere).load(paths: paths)
        modules = report.modules
        errors = report.errors
        for error in report.errors {
            logger.warning("module skipped", metadata: ["problem": "\(error)"])
        }
        logger.info("modules loaded", metadata: ["count": "\(modules.count)", "skipped": "\(errors.count)"])
    }

    /// Clones repositories never cloned before (startup), then reloads.
    public func syncMissing() async {
        if let syncService {
            for repository in repositories where !syncService.isCloned(repository) {
                repositoryOutcomes.append(await syncService.sync(repository))
            }
        }
        reload()
    }

    /// Fetches every repository's ref again, then reloads.
    public func sync() async {
        var outcomes: [RepositorySyncService.Outcome] = []
        if let syncService {
            for repository in repositories { outcomes.append(await syncService.sync(repository)) }
        }
        repositoryOutcomes = outcomes
        reload()
    }
}

import Foundation
import OPECore
import OPEKube
import OPEModules

/// What the repository reconciler decides for one `OPERepository`, given what its last sync found:
/// the `OPEModule` objects it owns (one per valid module), each module's files (a ConfigMap of the
/// visible files, a Secret of the hidden tests), stale ones deleted, and a status that says in
/// words what went wrong. A failed sync changes no module: the course goes on with what it had.
public struct RepositoryReconciler: Sendable {
    /// Labels on what a repository publishes.
    public static let repositoryLabel = "ope.dev/repository"
    public static let moduleLabel = "ope.dev/module"

    /// One valid module as found at the synced commit.
    public struct Found: Sendable, Hashable {
        public var id: String
        public var spec: ModuleResource.Spec
        /// Encoded (see `ModuleBundle`): the module's files but the hidden tests, and those tests.
        public var files: [String: String]
        public var tests: [String: String]
        public init(id: String, spec: ModuleResource.Spec, files: [String: String], tests: [String: String]) {
            self.id = id
            self.spec = spec
            self.files = files
            self.tests = tests
        }
    }

    public enum Sync: Sendable, Hashable {
        case synced(commit: String, modules: [Found], errors: [RepositoryResource.ModuleErrors])
        case failed(String)
    }

    public struct Observed: Sendable {
        public var repository: RepositoryResource
        public var sync: Sync
        /// Modules this repository published before (by label).
        public var modules: [ModuleResource]
        public var files: [ConfigMap]
        public var tests: [Secret]
        /// Names of modules someone else owns (another repository, or applied by hand).
        public var foreign: Set<String>
        public var now: Date
        public init(
            repository: RepositoryResource, sync: Sync, modules: [ModuleResource], files: [ConfigMap], tests: [Secret], foreign: Set<String>, now: Date
        ) {
            self.repository = repository
            self.sync = sync
            self.modules = modules
            self.files = files
            self.tests = tests
            self.foreign = foreign
            self.now = now
        }
    }

    public enum Action: Sendable, Hashable {
        case createModule(ModuleResource)
        case replaceModule(ModuleResource)
        case deleteModule(String)
        case createFiles(ConfigMap)
        case replaceFiles(ConfigMap)
        case deleteFiles(String)
        case createTests(Secret)
        case replaceTests(Secret)
        case deleteTests(String)
        case updateStatus(RepositoryResource.Status)
        case requeue(at: Date)
    }

    public init() {}

    /// How often a repository is synced when it does not say (`interval`).
    public static let defaultInterval: Duration = .seconds(300)

    public static func interval(of repository: RepositoryResource) -> Duration {
        switch repository.spec.interval {
        case .seconds(let seconds)?: .seconds(max(10, seconds))
        case .text(let text)?: DurationText.parse(text).map { max($0, .seconds(10)) } ?? defaultInterval
        case nil: defaultInterval
        }
    }

    /// When the repository should be synced next: nil means now (never synced, its spec changed,
    /// or its interval has passed since the last sync). Status writes wake the reconciler too, and
    /// must not make it fetch again.
    public static func nextSync(of repository: RepositoryResource, now: Date) -> Date? {
        guard let status = repository.status, status.observedGeneration == repository.metadata.generation,
            let last = status.lastSyncTime ?? status.conditions?["Synced"]?.lastTransitionTime
        else { return nil }
        let due = last.addingTimeInterval(interval(of: repository).timeInterval)
        return due > now ? due : nil
    }

    public func reconcile(_ observed: Observed) -> [Action] {
        let repository = observed.repository
        guard repository.metadata.deletionTimestamp == nil else { return [] }
        var status = repository.status ?? RepositoryResource.Status()
        status.observedGeneration = repository.metadata.generation
        let now = observed.now
        func condition(_ type: String, _ value: Bool, _ reason: String, _ message: String) {
            var conditions = status.conditions ?? []
            conditions.set(
                Condition(
                    type: type, status: value ? "True" : "False", observedGeneration: repository.metadata.generation, lastTransitionTime: now, reason: reason,
                    message: message))
            status.conditions = conditions
        }
        var actions: [Action] = []
        switch observed.sync {
        case .failed(let message):
            condition("Synced", false, "SyncFailed", message)
        case .synced(let commit, let found, var errors):
            status.commit = commit
            status.lastSyncTime = now
            condition("Synced", true, "Synced", "at \(commit.prefix(12))")
            var published: [Found] = []
            for module in found {
                if observed.foreign.contains(module.id) {
                    errors.append(
                        .init(
                            path: module.id,
                            errors: ["\(module.id)/module.yaml: id: an OPEModule named \(module.id) exists already and is not this repository's"]))
                } else if ModuleBundle.size(module.files) > ModuleBundle.sizeLimit || ModuleBundle.size(module.tests) > ModuleBundle.sizeLimit {
                    errors.append(
                        .init(
                            path: module.id,
                            errors: [
                                "\(module.id): files: the module's files take more than 1 MB, more than a ConfigMap or Secret holds; keep large data out of the module (download it in the notebook)"
                            ]))
                } else {
                    published.append(module)
                }
            }
            status.modules = published.map(\.id).sorted()
            status.moduleCount = published.count
            status.moduleErrors = errors.isEmpty ? nil : errors.sorted { $0.path < $1.path }
            if errors.isEmpty {
                condition("Valid", true, "AllModulesValid", "\(published.count) module(s)")
            } else {
                condition(
                    "Valid", false, "InvalidModules",
                    "\(errors.count) module(s) have errors; the others are published: \(errors.map(\.path).sorted().joined(separator: ", "))")
            }
            actions += publish(published, observed: observed)
        }
        if status != repository.status { actions.append(.updateStatus(status)) }
        actions.append(.requeue(at: now.addingTimeInterval(Self.interval(of: repository).timeInterval)))
        return actions
    }

    private func publish(_ modules: [Found], observed: Observed) -> [Action] {
        let repository = observed.repository
        let namespace = repository.namespace
        var owner: [OwnerReference]?
        if let uid = repository.metadata.uid {
            owner = [
                OwnerReference(apiVersion: RepositoryResource.resource.apiVersion, kind: RepositoryResource.resource.kind, name: repository.name, uid: uid)
            ]
        }
        func metadata(_ name: String, module: String) -> ObjectMeta {
            var metadata = ObjectMeta(
                name: name, namespace: namespace,
                labels: [Self.repositoryLabel: repository.name, Self.moduleLabel: module, "app.kubernetes.io/managed-by": "ope-operator"])
            metadata.ownerReferences = owner
            return metadata
        }
        let existing = Dictionary(observed.modules.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let files = Dictionary(observed.files.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let tests = Dictionary(observed.tests.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var actions: [Action] = []
        for module in modules.sorted(by: { $0.id < $1.id }) {
            // Files first: a module is announced once what it needs is there.
            let filesName = WorkspaceNames.moduleFiles(module.id)
            if let current = files[filesName] {
                if (current.binaryData ?? [:]) != module.files {
                    var changed = current
                    changed.binaryData = module.files
                    changed.data = nil
                    actions.append(.replaceFiles(changed))
                }
            } else {
                actions.append(.createFiles(ConfigMap(metadata: metadata(filesName, module: module.id), binaryData: module.files)))
            }
            let testsName = WorkspaceNames.moduleTests(module.id)
            if let current = tests[testsName] {
                if (current.data ?? [:]) != module.tests {
                    var changed = current
                    changed.data = module.tests
                    actions.append(.replaceTests(changed))
                }
            } else {
                var secret = Secret(metadata: metadata(testsName, module: module.id), data: module.tests)
                secret.type = "Opaque"
                actions.append(.createTests(secret))
            }
            if let current = existing[module.id] {
                if current.spec != module.spec {
                    var changed = current
                    changed.spec = module.spec
                    actions.append(.replaceModule(changed))
                }
            } else {
                actions.append(.createModule(ModuleResource(metadata: metadata(module.id, module: module.id), spec: module.spec)))
            }
        }
        // What the repository no longer has goes (a module whose new version is invalid stays as it was).
        let keep = Set(modules.map(\.id))
        let invalid: Set<String> = {
            if case .synced(_, _, let errors) = observed.sync { return Set(errors.map(\.path)) }
            return []
        }()
        for module in observed.modules.map(\.name).sorted() where !keep.contains(module) && !invalid.contains(module) {
            actions.append(.deleteModule(module))
            if files[WorkspaceNames.moduleFiles(module)] != nil { actions.append(.deleteFiles(WorkspaceNames.moduleFiles(module))) }
            if tests[WorkspaceNames.moduleTests(module)] != nil { actions.append(.deleteTests(WorkspaceNames.moduleTests(module))) }
        }
        return actions
    }
}

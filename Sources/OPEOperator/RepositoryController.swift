import Foundation
import Logging
import OPECore
import OPEKube
import OPEModules
import Synchronization

/// The shell around ``RepositoryReconciler``: syncs the repository with git into the operator's
/// cache folder, reads and validates its modules, bundles their files, and carries the decided
/// actions out.
final class RepositoryController: Sendable {
    let reconciler = RepositoryReconciler()
    let caches: OperatorCaches
    let writer: KubeWriter
    let queue: WorkQueue
    let sync: RepositorySyncService
    let clock: any PlatformClock
    let logger: Logger

    init(caches: OperatorCaches, writer: KubeWriter, queue: WorkQueue, sync: RepositorySyncService, clock: any PlatformClock, logger: Logger) {
        self.caches = caches
        self.writer = writer
        self.queue = queue
        self.sync = sync
        self.clock = clock
        self.logger = logger
    }
    /// When each repository was last fetched by this process, failed fetches included (the status
    /// keeps only successful ones): a repository that cannot be fetched is tried once per interval.
    let attempts = Mutex<[String: Date]>([:])

    func reconcile(_ key: String) async throws {
        guard let repository = caches.repositories.get(key), repository.metadata.deletionTimestamp == nil else { return }
        let namespace = repository.namespace
        let now = clock.now
        let lastAttempt = attempts.withLock { $0[key] }
        let interval = RepositoryReconciler.interval(of: repository).timeInterval
        if let due = RepositoryReconciler.nextSync(of: repository, now: now)
            ?? lastAttempt.map({ $0.addingTimeInterval(interval) }).flatMap({
                $0 > now && repository.status?.observedGeneration == repository.metadata.generation ? $0 : nil
            })
        {
            await queue.add(key, at: due)
            return
        }
        attempts.withLock { $0[key] = now }
        let outcome = await fetch(repository)
        let owned = caches.modules.items.filter { $0.metadata.labels?[RepositoryReconciler.repositoryLabel] == repository.name && $0.namespace == namespace }
        let foreign = Set(
            caches.modules.items.filter { $0.metadata.labels?[RepositoryReconciler.repositoryLabel] != repository.name && $0.namespace == namespace }.map(
                \.name))
        let selector = "\(RepositoryReconciler.repositoryLabel)=\(repository.name)"
        let files = try await writer.client.listAll(ConfigMap.self, namespace: namespace, labelSelector: selector).items
        let tests = try await writer.client.listAll(Secret.self, namespace: namespace, labelSelector: selector).items
        let actions = reconciler.reconcile(
            .init(repository: repository, sync: outcome, modules: owned, files: files, tests: tests, foreign: foreign, now: clock.now))
        for action in actions {
            switch action {
            case .createModule(let module): if let created = try await writer.createIfAbsent(module) { caches.modules.remember(created) }
            case .replaceModule(let module): caches.modules.remember(try await writer.replace(module))
            case .deleteModule(let name): try await writer.delete(ModuleResource.self, name: name, namespace: namespace)
            case .createFiles(let map): try await writer.createIfAbsent(map)
            case .replaceFiles(let map): _ = try await writer.replace(map)
            case .deleteFiles(let name): try await writer.delete(ConfigMap.self, name: name, namespace: namespace)
            case .createTests(let secret): try await writer.createIfAbsent(secret)
            case .replaceTests(let secret): _ = try await writer.replace(secret)
            case .deleteTests(let name): try await writer.delete(Secret.self, name: name, namespace: namespace)
            case .updateStatus(let status):
                var changed = repository
                changed.status = status
                caches.repositories.remember(try await writer.replaceStatus(changed))
            case .requeue(let time): await queue.add(key, at: time)
            }
        }
    }

    /// Syncs and reads the repository: its valid modules with their files, and every problem as
    /// `ope module validate` prints it (paths relative to the repository).
    func fetch(_ repository: RepositoryResource) async -> RepositoryReconciler.Sync {
        let source = ModuleRepository(
            name: "\(repository.namespace ?? "default")--\(repository.name)", url: repository.spec.url, ref: repository.spec.ref ?? "main",
            path: repository.spec.path)
        var gitConfig: [String: String] = [:]
        if let reference = repository.spec.credentialsSecret {
            do {
                let secret = try await writer.client.get(Secret.self, name: reference.name, namespace: repository.namespace)
                guard let password = secret.value(reference.key ?? "password") ?? secret.value("token") else {
                    return .failed("the credentials Secret \(reference.name) has no key \(reference.key ?? "password") (or token)")
                }
                let user = secret.value("username") ?? "git"
                // A header, not the URL: the URL shows up in error messages and the checkout's config.
                gitConfig["http.extraHeader"] = "Authorization: Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
            } catch {
                return .failed("cannot read the credentials Secret \(reference.name): \(error)")
            }
        }
        let outcome = await sync.sync(source, gitConfig: gitConfig)
        guard let commit = outcome.commit else { return .failed(outcome.error ?? "the sync failed") }
        let folder = sync.modulesFolder(of: source)
        let checkout = sync.root + "/" + source.name
        let report = ModuleLoader().load(path: folder)
        func relative(_ path: String) -> String { path.hasPrefix(checkout + "/") ? String(path.dropFirst(checkout.count + 1)) : path }
        var errors: [String: [String]] = [:]
        for error in report.errors {
            var shown = error
            shown.file = relative(error.file)
            let module = relative(error.file).split(separator: "/").dropLast().last.map(String.init) ?? relative(error.file)
            errors[module, default: []].append(shown.description)
        }
        var found: [RepositoryReconciler.Found] = []
        for module in report.modules {
            do {
                let yaml = try String(contentsOfFile: module.folder + "/" + ModuleLoader.fileName, encoding: .utf8)
                var fields = try ModuleBundle.specification(moduleYAML: yaml, file: relative(module.folder + "/module.yaml")).objectValue ?? [:]
                fields["id"] = nil
                fields["source"] = ["repository": .string(repository.name), "path": .string(relative(module.folder)), "commit": .string(commit)]
                let spec = try JSONValueDecoder().decode(ModuleResource.Spec.self, from: .object(fields))
                let hidden = Set(module.tasks.flatMap { $0.test?.files ?? [] })
                let (visible, tests) = try ModuleBundle.read(folder: module.folder, hidden: hidden)
                found.append(.init(id: module.id, spec: spec, files: ModuleBundle.encode(visible), tests: ModuleBundle.encode(tests)))
            } catch {
                errors[module.id, default: []].append("\(relative(module.folder))/module.yaml: \(error)")
            }
        }
        let problems = errors.map { RepositoryResource.ModuleErrors(path: $0.key, errors: $0.value) }
        return .synced(commit: commit, modules: found, errors: problems)
    }
}

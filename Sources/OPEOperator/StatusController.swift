import Foundation
import Logging
import OPECore
import OPEKube
import OPEModules
import Synchronization

/// The shell around ``StatusReconciler``: keys are `module:<namespace>/<name>` and
/// `user:<namespace>/<name>`; a module is validated by reading it as the gateway will (its
/// repository's files, or its spec as module.yaml), and a status is written only when it changed.
struct StatusController: Sendable {
    let caches: OperatorCaches
    let writer: KubeWriter
    let clock: any PlatformClock
    let scratch: String
    /// Counts the status writes (the benchmark reports them apart).
    let counted: @Sendable () -> Void
    /// Each hand-applied module's problems as of its generation: every session change revisits
    /// its module's status, and the module is read from disk only when its spec changed.
    let validations = Validations()

    final class Validations: Sendable {
        let known = Mutex<[String: (generation: Int64?, problems: [String])]>([:])
    }

    static func moduleKey(_ module: ModuleResource) -> String { "module:" + Informer<ModuleResource>.key(of: module) }
    static func userKey(_ user: UserResource) -> String { "user:" + Informer<UserResource>.key(of: user) }

    /// The keys a session's change touches: its module and its members.
    func keys(forSession key: String) -> [String] {
        guard let session = caches.sessions.get(key) else { return caches.modules.items.map(Self.moduleKey) + caches.users.items.map(Self.userKey) }
        let namespace = session.namespace
        var keys = ["module:" + Informer<ModuleResource>.key(namespace: namespace, name: session.spec.module)]
        for member in session.spec.members {
            keys.append("user:" + Informer<UserResource>.key(namespace: namespace, name: UserResource.objectName(username: member.user)))
        }
        return keys
    }

    func reconcile(_ key: String) async throws {
        let sessions = caches.sessions.items
        if key.hasPrefix("module:") {
            guard let module = caches.modules.get(String(key.dropFirst("module:".count))) else { return }
            let status = StatusReconciler.moduleStatus(module, problems: problems(of: module), sessions: sessions, now: clock.now)
            guard status != module.status else { return }
            var changed = module
            changed.status = status
            counted()
            caches.modules.remember(try await writer.replaceStatus(changed))
        } else if key.hasPrefix("user:") {
            guard let user = caches.users.get(String(key.dropFirst("user:".count))) else { return }
            let status = StatusReconciler.userStatus(user, sessions: sessions)
            guard status != user.status else { return }
            var changed = user
            changed.status = status
            counted()
            caches.users.remember(try await writer.replaceStatus(changed))
        }
    }

    /// A published module was valid when its repository published it; one applied by hand is read
    /// here from its spec (its files, such as a plan, must then be inline or it says which are missing).
    func problems(of module: ModuleResource) -> [String] {
        if module.metadata.labels?[RepositoryReconciler.repositoryLabel] != nil { return [] }
        let key = Self.moduleKey(module)
        if let known = validations.known.withLock({ $0[key] }), known.generation == module.metadata.generation { return known.problems }
        let problems = read(module)
        validations.known.withLock { $0[key] = (module.metadata.generation, problems) }
        return problems
    }

    private func read(_ module: ModuleResource) -> [String] {
        let folder = scratch + "/" + UUID().uuidString + "/" + module.name
        defer { try? FileManager.default.removeItem(atPath: (folder as NSString).deletingLastPathComponent) }
        do {
            let spec = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(module.spec))
            try ModuleBundle.write([ModuleLoader.fileName: Data(ModuleBundle.moduleYAML(id: module.name, specification: spec).utf8)], into: folder)
        } catch {
            return ["\(module.name): \(error)"]
        }
        // Paths in the words of the object, not of this scratch folder.
        return ModuleLoader(hiddenTestsElsewhere: true).load(path: folder).errors.map {
            var error = $0
            error.file = "OPEModule \(module.name)"
            error.line = nil
            error.column = nil
            error.message = error.message.replacingOccurrences(
                of: " in " + folder, with: " among the module's files (a module applied by hand has only its spec)")
            return error.description
        }
    }
}

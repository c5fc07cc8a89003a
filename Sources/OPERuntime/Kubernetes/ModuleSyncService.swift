import Foundation
import Logging
import OPECore
import OPEKube
import OPEModules
import ServiceLifecycle

/// On Kubernetes, modules are `OPEModule` objects: this writes each one as a module folder under
/// `folder` — the files its repository published (the `opemodule-<id>-files` ConfigMap), or for
/// a module applied by hand its spec as module.yaml — and has the runtime load them, so lobbies,
/// plans and bots work as on one machine. Hidden tests are never written here: they stay in their
/// Secret, for the workspace pods' grading containers.
public struct ModuleSyncService: ServiceLifecycle.Service {
    let client: KubeClient
    let namespace: String
    let folder: String
    let reload: @Sendable () async -> Void
    let logger: Logger

    /// - Parameter reload: loads the modules from `folder` again (the runtime's module sync).
    public init(client: KubeClient, namespace: String, folder: String, logger: Logger, reload: @escaping @Sendable () async -> Void) {
        self.client = client
        self.namespace = namespace
        self.folder = folder
        self.logger = logger
        self.reload = reload
    }

    public func run() async throws {
        let modules = Informer(watcher: ListWatcher<ModuleResource>(client: client, namespace: namespace))
        let bundles = Informer(
            watcher: ListWatcher<ConfigMap>(client: client, namespace: namespace, labelSelector: "app.kubernetes.io/managed-by=ope-operator,ope.dev/module"))
        let (changes, changed) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        await withDiscardingTaskGroup { group in
            group.addTask { try? await modules.run { _ in changed.yield() } }
            group.addTask { try? await bundles.run { _ in changed.yield() } }
            // Bursts of changes (a repository publishing ten modules) make one reload.
            group.addTask {
                for await _ in changes {
                    guard modules.hasSynced, bundles.hasSynced else { continue }
                    self.write(modules: modules.items, bundles: bundles)
                    await self.reload()
                }
            }
            try? await gracefulShutdown()
            changed.finish()
            group.cancelAll()
        }
    }

    /// Writes every module's folder afresh; folders of modules that are gone are removed.
    func write(modules: [ModuleResource], bundles: Informer<ConfigMap>) {
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let wanted = Set(modules.map(\.name))
        for existing in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where !wanted.contains(existing) {
            try? FileManager.default.removeItem(atPath: folder + "/" + existing)
        }
        for module in modules {
            let target = folder + "/" + module.name
            do {
                if let bundle = bundles.get(name: WorkspaceNames.moduleFiles(module.name), namespace: namespace), let data = bundle.binaryData {
                    try ModuleBundle.write(ModuleBundle.decode(data), into: target)
                } else {
                    let spec = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(module.spec))
                    try ModuleBundle.write([ModuleLoader.fileName: Data(ModuleBundle.moduleYAML(id: module.name, specification: spec).utf8)], into: target)
                }
            } catch {
                logger.warning("could not write a module's folder", metadata: ["module": "\(module.name)", "error": "\(error)"])
            }
        }
    }
}

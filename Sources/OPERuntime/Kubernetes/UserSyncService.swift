import Foundation
import Logging
import OPECore
import OPEKube
import OPEStore
import ServiceLifecycle

/// On Kubernetes, accounts are `OPEUser` objects: this keeps the runtime's accounts equal to them
/// (created, renamed, re-roled, disabled when the object goes), with each password hash read from
/// the Secret the object names (key `password-hash` unless it says another). Sign-in, sessions and
/// API tokens then work as on one machine.
public struct UserSyncService: ServiceLifecycle.Service {
    public static let defaultHashKey = "password-hash"
    static let actor = "kubernetes"

    let client: KubeClient
    let namespace: String
    let store: Store
    let logger: Logger

    public init(client: KubeClient, namespace: String, store: Store, logger: Logger) {
        self.client = client
        self.namespace = namespace
        self.store = store
        self.logger = logger
    }

    public func run() async throws {
        let informer = Informer(watcher: ListWatcher<UserResource>(client: client, namespace: namespace))
        let secrets = Informer(watcher: ListWatcher<Secret>(client: client, namespace: namespace))
        // One line of object names to apply, so two changes to one user never race.
        let (changes, changed) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
        await withDiscardingTaskGroup { group in
            group.addTask {
                try? await informer.run { key in changed.yield(String(key.split(separator: "/").last ?? "")) }
            }
            // A changed password Secret changes its user's hash.
            group.addTask {
                try? await secrets.run { key in
                    let name = String(key.split(separator: "/").last ?? "")
                    for user in informer.items where user.spec.passwordSecretRef?.name == name { changed.yield(user.name) }
                }
            }
            group.addTask {
                for await name in changes {
                    guard informer.hasSynced else { continue }
                    await self.apply(informer.get(name: name, namespace: self.namespace), objectName: name, secrets: secrets)
                }
            }
            try? await gracefulShutdown()
            changed.finish()
            group.cancelAll()
        }
    }

    /// Makes the account match the object; a missing object disables the account it made.
    func apply(_ object: UserResource?, objectName: String, secrets: Informer<Secret>) async {
        do {
            guard let object else {
                // Deleted: the account stays (the record refers to it) but can no longer sign in.
                for user in try await store.users.list() where UserResource.objectName(username: user.username) == objectName && !user.disabled {
                    _ = try await store.users.setDisabled(user.username, true, actor: Self.actor)
                    logger.info("account disabled: its OPEUser was deleted", metadata: ["user": "\(user.username)"])
                }
                return
            }
            let spec = object.spec
            let role = PlatformRole(rawValue: spec.role ?? "participant") ?? .participant
            if let existing = try await store.users.find(spec.username) {
                if existing.role != role || existing.displayName != spec.displayName {
                    _ = try await store.users.update(spec.username, role: role, displayName: spec.displayName, actor: Self.actor)
                }
                if existing.disabled { _ = try await store.users.setDisabled(spec.username, false, actor: Self.actor) }
            } else {
                try await store.users.create(User(username: spec.username, displayName: spec.displayName, role: role), password: nil, actor: Self.actor)
                logger.info("account created from its OPEUser", metadata: ["user": "\(spec.username)"])
            }
            if let reference = spec.passwordSecretRef {
                var secret = secrets.get(name: reference.name, namespace: namespace)
                if secret == nil { secret = try? await client.get(Secret.self, name: reference.name, namespace: namespace) }
                guard let hash = secret?.value(reference.key ?? Self.defaultHashKey)?.trimmingCharacters(in: .whitespacesAndNewlines) else {
                    logger.warning(
                        "the OPEUser's password Secret is missing or has no key \(reference.key ?? Self.defaultHashKey)",
                        metadata: ["user": "\(spec.username)", "secret": "\(reference.name)"])
                    return
                }
                // "!" is no hash: the account has no password sign-in (API tokens only).
                guard hash != "!" else { return }
                if try await store.users.passwordHash(spec.username) != hash {
                    try await store.users.setPasswordHash(spec.username, hash: hash, actor: Self.actor)
                }
            }
        } catch {
            logger.warning("could not apply an OPEUser", metadata: ["object": "\(objectName)", "error": "\(error)"])
        }
    }
}

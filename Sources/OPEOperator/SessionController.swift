import Foundation
import Logging
import Metrics
import OPECore
import OPEKube

/// The shell around ``SessionReconciler``: builds what it observes from the informers' caches,
/// carries its actions out through the ``KubeWriter``, and puts what each write returned in the
/// cache, so the next pass does not act on a copy from before its own write.
struct SessionController: Sendable {
    let reconciler: SessionReconciler
    let caches: OperatorCaches
    let writer: KubeWriter
    let queue: WorkQueue
    let clock: any PlatformClock
    let logger: Logger

    /// One pass over the session `key`; throws when a write failed (the queue retries with backoff).
    func reconcile(_ key: String) async throws {
        guard let session = caches.sessions.get(key) else { return }
        let namespace = session.namespace
        let names = WorkspaceNames(session: session.name)
        let module = caches.modules.get(name: session.spec.module, namespace: namespace)
        let unknown = session.spec.members.map(\.user).filter { caches.users.get(name: UserResource.objectName(username: $0), namespace: namespace) == nil }
        let observed = SessionReconciler.Observed(
            session: session, module: module, unknownMembers: unknown, pod: caches.pods.get(name: names.pod, namespace: namespace),
            service: caches.services.get(name: names.service, namespace: namespace), secret: caches.secrets.get(name: names.secret, namespace: namespace),
            claim: caches.claims.get(name: names.claim, namespace: namespace), now: clock.now)
        let actions = reconciler.reconcile(observed)
        var logger = logger
        logger[metadataKey: "session"] = "\(session.name)"
        for action in actions {
            try await perform(action, session: session, module: module, names: names, logger: logger)
        }
    }

    private func perform(_ action: SessionReconciler.Action, session: SessionResource, module: ModuleResource?, names: WorkspaceNames, logger: Logger)
        async throws
    {
        let namespace = session.namespace
        func objects() throws -> WorkspaceObjects {
            guard let module else { throw KubeWriter.Refused(reason: "no module for \(session.name)") }
            return WorkspaceObjects(session: session, module: module, configuration: reconciler.configuration)
        }
        switch action {
        case .addFinalizer, .removeFinalizer:
            var changed = caches.sessions.get(Informer<SessionResource>.key(of: session)) ?? session
            var finalizers = changed.metadata.finalizers ?? []
            if case .addFinalizer = action {
                finalizers.append(SessionReconciler.finalizer)
            } else {
                finalizers.removeAll { $0 == SessionReconciler.finalizer }
            }
            changed.metadata.finalizers = finalizers
            try await writeSession(session) { try await writer.replace(changed) }
            if case .removeFinalizer = action { logger.info("workspace cleaned up; session released") }
        case .updateStatus(let status):
            var changed = session
            changed.status = status
            try await writeSession(session) { try await writer.replaceStatus(changed) }
            if status.phase != session.status?.phase { logger.info("session phase", metadata: ["phase": "\(status.phase?.rawValue ?? "")"]) }
        case .createSecret:
            let secret = try objects().secret(token: Self.randomToken(), gradingToken: Self.randomToken(), databasePassword: Self.randomToken())
            if let created = try await writer.createIfAbsent(secret) { caches.secrets.remember(created) }
        case .createClaim:
            if let created = try await writer.createIfAbsent(try objects().claim()) { caches.claims.remember(created) }
        case .createService:
            if let created = try await writer.createIfAbsent(try objects().service()) { caches.services.remember(created) }
        case .createPod:
            if let created = try await writer.createIfAbsent(try objects().pod()) {
                caches.pods.remember(created)
                logger.info("workspace pod created", metadata: ["pod": "\(names.pod)"])
            }
        case .deletePod(let uid):
            try await writer.delete(Pod.self, name: names.pod, namespace: namespace, uid: uid)
            caches.pods.forget(Informer<Pod>.key(namespace: namespace, name: names.pod))
        case .deleteService:
            try await writer.delete(Service.self, name: names.service, namespace: namespace)
            caches.services.forget(Informer<Service>.key(namespace: namespace, name: names.service))
        case .deleteSecret:
            try await writer.delete(Secret.self, name: names.secret, namespace: namespace)
            caches.secrets.forget(Informer<Secret>.key(namespace: namespace, name: names.secret))
        case .deleteClaim:
            try await writer.delete(PersistentVolumeClaim.self, name: names.claim, namespace: namespace)
            caches.claims.forget(Informer<PersistentVolumeClaim>.key(namespace: namespace, name: names.claim))
        case .requeue(let time):
            await queue.add(Informer<SessionResource>.key(of: session), at: time)
        }
    }

    /// A write to the session; on 409 (someone wrote since the cache's copy) it reads the object
    /// afresh into the cache and fails the pass, so the next pass decides on what is there now,
    /// never over a version it has not read.
    private func writeSession(_ session: SessionResource, _ write: () async throws -> SessionResource) async throws {
        do {
            caches.sessions.remember(try await write())
        } catch let error as KubeAPIError where error.isConflict {
            if let fresh = try? await writer.client.get(SessionResource.self, name: session.name, namespace: session.namespace) {
                caches.sessions.remember(fresh)
            }
            throw error
        }
    }

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}

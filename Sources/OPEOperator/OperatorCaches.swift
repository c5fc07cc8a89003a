import OPEKube

/// The informers of one operator: the four custom resources in its namespace, and the workspace
/// objects it made (selected by label, so it caches none of the namespace's other pods or secrets).
public struct OperatorCaches: Sendable {
    public static let workspaceSelector = "app.kubernetes.io/component=workspace,app.kubernetes.io/managed-by=ope-operator"

    public let sessions: Informer<SessionResource>
    public let modules: Informer<ModuleResource>
    public let users: Informer<UserResource>
    public let repositories: Informer<RepositoryResource>
    public let pods: Informer<Pod>
    public let services: Informer<Service>
    public let secrets: Informer<Secret>
    public let claims: Informer<PersistentVolumeClaim>

    public init(
        client: KubeClient, namespace: String, backoff: RetryPolicy = RetryPolicy(maxAttempts: .max, baseDelay: .milliseconds(200), maxDelay: .seconds(30))
    ) {
        func informer<R: KubeResource>(_ type: R.Type, selector: String? = nil) -> Informer<R> {
            Informer(watcher: ListWatcher<R>(client: client, namespace: namespace, labelSelector: selector, backoff: backoff))
        }
        sessions = informer(SessionResource.self)
        modules = informer(ModuleResource.self)
        users = informer(UserResource.self)
        repositories = informer(RepositoryResource.self)
        pods = informer(Pod.self, selector: Self.workspaceSelector)
        services = informer(Service.self, selector: Self.workspaceSelector)
        secrets = informer(Secret.self, selector: Self.workspaceSelector)
        claims = informer(PersistentVolumeClaim.self, selector: Self.workspaceSelector)
    }

    /// Whether every informer has had its first list.
    public var synced: Bool {
        sessions.hasSynced && modules.hasSynced && users.hasSynced && repositories.hasSynced && pods.hasSynced && services.hasSynced
            && secrets.hasSynced && claims.hasSynced
    }
}

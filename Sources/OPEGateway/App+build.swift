import Hummingbird
import Logging
import OPEModules
import OPEStore
import ServiceLifecycle

/// The parts a running gateway is made of, for the CLI and the tests to reach into.
public struct Gateway: Sendable {
    public let store: Store
    public let catalog: ModuleCatalog
}

/// Builds the OPE server: opens the store, loads modules, wires routes and middleware.
///
/// `ope serve` runs the result with `runService()`; tests drive the same application with
/// HummingbirdTesting.
public func buildApplication(
    _ configuration: GatewayConfiguration, store: Store, logger: Logger = Logger(label: "ope"),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> (some ApplicationProtocol, Gateway) {
    OPEMetrics.bootstrap()
    let syncService = RepositorySyncService(root: store.dataDirectory + "/repositories", logger: logger)
    let catalog = ModuleCatalog(
        folders: configuration.moduleFolders, repositories: configuration.repositories, syncService: syncService, logger: logger
    )
    await catalog.syncMissing()
    let router = buildRouter(configuration, store: store, catalog: catalog)
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "ope"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
    app.addServices(StoreService(store: store, logger: logger))
    return (app, Gateway(store: store, catalog: catalog))
}

func buildRouter(_ configuration: GatewayConfiguration, store: Store, catalog: ModuleCatalog) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.add(middleware: ErrorMiddleware())
    SystemController(registry: OPEMetrics.registry).addRoutes(to: router)
    let api = router.group("api")
        .add(middleware: AuthenticationMiddleware(store: store))
        .add(middleware: CSRFMiddleware(allowedOrigins: configuration.allowedOrigins))
    AuthController(store: store, throttle: LoginThrottle(), secureCookies: configuration.secureCookies).addRoutes(to: api)
    ModulesController(catalog: catalog, store: store).addRoutes(to: api)
    UsersController(store: store).addRoutes(to: api)
    EventsController(store: store).addRoutes(to: api)
    return router
}

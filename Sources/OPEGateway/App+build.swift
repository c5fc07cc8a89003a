import Hummingbird
import HummingbirdWebSocket
import Logging
import OPEModules
import OPEStore
import ServiceLifecycle

/// The parts a running gateway is made of, for the CLI and the tests to reach into.
public struct Gateway: Sendable {
    public let store: Store
    public let catalog: ModuleCatalog
    public let sessions: SessionManager
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
    let sessions = SessionManager(store: store, configuration: .init(gracePeriod: configuration.gracePeriod), logger: logger)
    await sessions.update(modules: await catalog.modules)
    try await sessions.restore()
    let hub = RoomHub()
    _ = await store.events.subscribe { events in hub.deliver(events) }
    let gateway = Gateway(store: store, catalog: catalog, sessions: sessions)
    let router = buildRouter(configuration, gateway: gateway, hub: hub)
    var app = Application(
        router: router,
        server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(maxFrameSize: RoomController.maxFrameSize)),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "ope"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
    app.addServices(StoreService(store: store, logger: logger), SessionTicker(sessions: sessions, interval: configuration.tickInterval, logger: logger))
    return (app, gateway)
}

func buildRouter(_ configuration: GatewayConfiguration, gateway: Gateway, hub: RoomHub) -> Router<AppRequestContext> {
    let store = gateway.store
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.add(middleware: ErrorMiddleware())
    SystemController(registry: OPEMetrics.registry).addRoutes(to: router)
    let api = router.group("api")
        .add(middleware: AuthenticationMiddleware(store: store))
        .add(middleware: CSRFMiddleware(allowedOrigins: configuration.allowedOrigins))
    AuthController(store: store, sessions: gateway.sessions, throttle: LoginThrottle(), secureCookies: configuration.secureCookies).addRoutes(to: api)
    ModulesController(catalog: gateway.catalog, store: store, sessions: gateway.sessions).addRoutes(to: api)
    LobbyController(sessions: gateway.sessions).addRoutes(to: api)
    SessionsController(sessions: gateway.sessions, hub: hub, store: store).addRoutes(to: api)
    RoomController(store: store, sessions: gateway.sessions, hub: hub, allowedOrigins: configuration.allowedOrigins).addRoutes(to: api)
    UsersController(store: store).addRoutes(to: api)
    EventsController(store: store).addRoutes(to: api)
    return router
}

import Hummingbird
import HummingbirdWebSocket
import Logging
import Mustache
import OPEModules
import OPEStore
import OPEWorkspaces
import ServiceLifecycle

/// The parts a running gateway is made of, for the CLI and the tests to reach into.
public struct Gateway: Sendable {
    public let store: Store
    public let catalog: ModuleCatalog
    public let sessions: SessionManager
    /// Nil when the server runs without workspaces.
    public let workspaces: WorkspaceService?
    public let bots: BotService
    public let externalBots: ExternalBotService
    /// Room sockets and proxied WebSockets, by the sign-in or token they were opened with.
    public let connections: LiveConnections
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
    // Participant code never runs without a decision about its sandbox (Sandbox.off is one, said loudly).
    guard configuration.workspaceBackend == nil || configuration.sandbox != nil else {
        throw GatewayConfigurationError("workspaces need a sandbox for task tests and bot commands (Sandbox.make, or Sandbox.off for --no-sandbox)")
    }
    let syncService = RepositorySyncService(root: store.dataDirectory + "/repositories", logger: logger)
    let catalog = ModuleCatalog(
        folders: configuration.moduleFolders, repositories: configuration.repositories, syncService: syncService, logger: logger
    )
    await catalog.syncMissing()
    let sessions = SessionManager(
        store: store, configuration: .init(gracePeriod: configuration.gracePeriod, workspacesEnabled: configuration.workspaceBackend != nil), logger: logger,
        clock: configuration.clock
    )
    await sessions.update(modules: await catalog.modules)
    try await sessions.restore()
    let hub = RoomHub()
    _ = await store.events.subscribe { events in hub.deliver(events) }
    let live = LiveConnections(revocations: store.revocations)
    let workspaces = configuration.workspaceBackend.map {
        WorkspaceService(
            backend: $0, sessions: sessions, events: store.events, configuration: configuration.workspaces, logger: logger,
            kitEnvironment: configuration.kitEnvironment, kitCleanup: configuration.kitCleanup, kitShutdown: configuration.kitShutdown,
            clock: configuration.clock
        )
    }
    let bots = BotService(
        sessions: sessions, store: store, workspaces: workspaces,
        commands: configuration.sandbox.map { BotService.Commands(sandbox: $0, venv: configuration.venv, limits: configuration.limits) }, logger: logger,
        clock: configuration.clock
    )
    let externalBots = ExternalBotService(sessions: sessions, store: store, logger: logger, clock: configuration.clock)
    let gateway = Gateway(
        store: store, catalog: catalog, sessions: sessions, workspaces: workspaces, bots: bots, externalBots: externalBots, connections: live
    )
    let router = buildRouter(configuration, gateway: gateway, hub: hub, live: live, pages: try await WebController.loadLibrary())
    var app = Application(
        router: router,
        // Frames up to the proxy's limit; the team room enforces its own, smaller one.
        // Frames as large as a notebook only where the workspace proxy shares this server.
        server: .guarded(
            webSocketRouter: router,
            maxFrameSize: configuration.workspaceOrigin == nil ? WorkspaceProxyController.maxMessageSize : RoomController.maxFrameSize,
            limits: configuration.connections
        ),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "ope"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
    // Services shut down in reverse order: workspaces stop before the store closes.
    app.addServices(StoreService(store: store, logger: logger), SessionTicker(sessions: sessions, interval: configuration.tickInterval, clock: configuration.clock, logger: logger))
    app.addServices(CredentialSweeper(store: store, connections: live, interval: configuration.credentialCheckInterval, clock: configuration.clock, logger: logger))
    if let workspaces { app.addServices(workspaces) }
    // Last in, first out: the bots stop before the workspaces and the store they use.
    app.addServices(bots, externalBots)
    if let workspacePort = configuration.workspacePort, let workspaces {
        // The separate workspace origin: the proxy alone, on its own port.
        let proxyRouter = Router(context: AppRequestContext.self)
        let proxyRoutes = RouteTable()
        proxyRouter.add(middleware: RouteProbeMiddleware())
        proxyRouter.add(middleware: RequestMetricsMiddleware())
        proxyRouter.add(middleware: ErrorMiddleware())
        proxyRouter.add(middleware: MethodNotAllowedMiddleware(routes: proxyRoutes))
        WorkspaceProxyController(
            workspaces: workspaces, sessions: sessions, client: WorkspaceProxyController.sharedClient, allowedOrigins: configuration.allowedOrigins, store: store,
            frameAncestors: (["'self'"] + configuration.platformOrigins.sorted()).joined(separator: " "),
            edits: EditActivity(events: store.events, clock: configuration.clock), live: live, clock: configuration.clock
        ).addRoutes(to: proxyRouter)
        proxyRoutes.use(proxyRouter)
        app.addServices(
            Application(
                router: proxyRouter,
                server: .guarded(webSocketRouter: proxyRouter, maxFrameSize: WorkspaceProxyController.maxMessageSize, limits: configuration.connections),
                configuration: .init(address: .hostname(configuration.host, port: workspacePort), serverName: "ope-workspaces"),
                logger: logger
            )
        )
    }
    return (app, gateway)
}

func buildRouter(
    _ configuration: GatewayConfiguration, gateway: Gateway, hub: RoomHub, live: LiveConnections, pages: MustacheLibrary
) -> Router<AppRequestContext> {
    let store = gateway.store
    let router = Router(context: AppRequestContext.self)
    let routes = RouteTable()
    // First: a route probe (for a 405's Allow header) stops before anything runs or is counted.
    router.add(middleware: RouteProbeMiddleware())
    router.add(middleware: RequestMetricsMiddleware())
    router.add(middleware: LogRequestsMiddleware(.debug))
    // Outside the error middleware: refusals get the security headers too.
    router.add(middleware: PageSecurityMiddleware(workspaceOrigin: configuration.workspaceOrigin))
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: FileMiddleware(WebController.resources + "/static", urlBasePath: "/static", searchForIndexHtml: false))
    router.add(middleware: MethodNotAllowedMiddleware(routes: routes))
    let throttle = LoginThrottle(clock: configuration.clock)
    WebController(
        store: store, sessions: gateway.sessions, catalog: gateway.catalog,
        passwords: PasswordSignIn(store: store, throttle: throttle, secureCookies: configuration.secureCookies), library: pages,
        allowedOrigins: configuration.allowedOrigins, clock: configuration.clock, hub: hub
    ).addRoutes(to: router)
    _ = OpenAPIDocument.json  // read now: a build without it stops at start, not at the first request
    SystemController(registry: OPEMetrics.registry, metricsToken: configuration.metricsToken).addRoutes(to: router)
    let api = router.group("api")
        .add(middleware: AuthenticationMiddleware(store: store, clock: configuration.clock))
        .add(middleware: CSRFMiddleware(allowedOrigins: configuration.allowedOrigins))
    AuthController(store: store, sessions: gateway.sessions, throttle: throttle, secureCookies: configuration.secureCookies, clock: configuration.clock)
        .addRoutes(to: api)
    ModulesController(catalog: gateway.catalog, store: store, sessions: gateway.sessions).addRoutes(to: api)
    LobbyController(sessions: gateway.sessions, hub: hub).addRoutes(to: api)
    let tests = gateway.workspaces.flatMap { _ in
        configuration.sandbox.map {
            TaskTestService(
                events: store.events, venv: configuration.venv, sandbox: $0, limits: configuration.limits, kitEnvironment: configuration.kitTestEnvironment
            )
        }
    }
    SessionsController(
        sessions: gateway.sessions, hub: hub, store: store, workspaces: gateway.workspaces, tests: tests, workspaceOrigin: configuration.workspaceOrigin
    ).addRoutes(to: api)
    RoomController(store: store, sessions: gateway.sessions, hub: hub, live: live, allowedOrigins: configuration.allowedOrigins, clock: configuration.clock)
        .addRoutes(to: api)
    UsersController(store: store).addRoutes(to: api)
    EventsController(store: store).addRoutes(to: api)
    if let origin = configuration.workspaceOrigin {
        // Workspaces live on their own origin: send browsers there.
        router.on("w/**", method: .get) { request, _ in
            Response(status: .temporaryRedirect, headers: [.location: origin + (request.head.path ?? request.uri.path)])
        }
    } else if let workspaces = gateway.workspaces {
        WorkspaceProxyController(
            workspaces: workspaces, sessions: gateway.sessions, client: WorkspaceProxyController.sharedClient, allowedOrigins: configuration.allowedOrigins, store: store,
            edits: EditActivity(events: store.events, clock: configuration.clock), live: live, clock: configuration.clock
        ).addRoutes(to: router)
    }
    routes.use(router)
    return router
}

/// Every route the platform's router serves, as method and path with `{name}` for parameters
/// (`**` is `{path}`): what `Web/openapi.json` must describe, and nothing more (`OpenAPIRouteTests`).
public func platformRoutes(_ configuration: GatewayConfiguration, gateway: Gateway) async throws -> [(method: String, path: String)] {
    let router = buildRouter(configuration, gateway: gateway, hub: RoomHub(), live: gateway.connections, pages: try await WebController.loadLibrary())
    return router.routes.map { route in
        let path = "\(route.path)".split(separator: "/").map { component -> String in
            if component == "**" { return "{path}" }
            if component.hasPrefix(":") { return "{" + component.dropFirst() + "}" }
            return String(component)
        }
        return (route.method.rawValue, "/" + path.joined(separator: "/"))
    }
}

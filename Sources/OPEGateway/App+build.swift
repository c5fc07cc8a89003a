import Hummingbird
import HummingbirdWebSocket
import Logging
import Mustache
import OPEModules
import OPERuntime
import OPEStore
import OPEWorkspaces
import ServiceLifecycle

/// The parts a running gateway is made of, for the CLI and the tests to reach into: the runtime
/// it fronts (`gateway.sessions` is `parts.runtime.sessions`), the accounts it checks callers
/// against and the connections it holds.
@dynamicMemberLookup
public struct Gateway: Sendable {
    public let runtime: Runtime
    /// Accounts, API tokens, sign-ins and revocations: every controller and middleware asks this,
    /// never a ``Store``, so that an edge gateway can ask a remote one.
    public let accounts: any AccountDirectory
    /// Room sockets and proxied WebSockets, by the sign-in or token they were opened with.
    public let connections: LiveConnections

    public subscript<Part>(dynamicMember part: KeyPath<Runtime, Part>) -> Part { runtime[keyPath: part] }
}

/// What an HTTP front door stands on: the runtime it fronts, the accounts it checks callers
/// against, and the workspaces its proxy reaches. In the all-in-one server they are this
/// process's; on a cluster's edge, the cores' over gRPC.
public struct GatewayParts: Sendable {
    public var runtime: any RuntimeAPI
    public var accounts: any AccountDirectory
    /// Nil without workspaces.
    public var workspaces: (any WorkspaceAccess)?
    /// What must run for the parts to work, in start order (the all-in-one runtime's services, an
    /// edge's gRPC connections); they stop in reverse.
    public var services: [any Service]

    public init(runtime: any RuntimeAPI, accounts: any AccountDirectory, workspaces: (any WorkspaceAccess)?, services: [any Service]) {
        self.runtime = runtime
        self.accounts = accounts
        self.workspaces = workspaces
        self.services = services
    }
}

/// Builds the all-in-one OPE server over `store`: the runtime on it, its accounts as the
/// gateway's ``AccountDirectory``, and the routes and middleware.
///
/// `ope serve` runs the result with `runService()`; tests drive the same application with
/// HummingbirdTesting.
public func buildApplication(
    _ configuration: GatewayConfiguration, store: Store, logger: Logger = Logger(label: "ope"),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> (some ApplicationProtocol, Gateway) {
    OPEMetrics.bootstrap()
    let runtime = try await Runtime(configuration.runtime, store: store, logger: logger)
    // From here on the gateway knows the store only as a directory of accounts.
    let parts = GatewayParts(runtime: runtime, accounts: store, workspaces: runtime.workspaceAccess, services: runtime.services)
    let (app, live) = try await buildFrontDoor(configuration, parts: parts, logger: logger, onServerRunning: onServerRunning)
    return (app, Gateway(runtime: runtime, accounts: store, connections: live))
}

/// Builds a cluster's edge (`ope serve --role edge`): the same pages, API, team rooms and
/// workspace proxy, on parts that live in the cores. It keeps nothing that matters.
public func buildEdgeApplication(
    _ configuration: GatewayConfiguration, parts: GatewayParts, logger: Logger = Logger(label: "ope"),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    OPEMetrics.bootstrap()
    return try await buildFrontDoor(configuration, parts: parts, logger: logger, onServerRunning: onServerRunning).0
}

/// The HTTP server (and, with a workspace port, the workspace origin's) over `parts`.
func buildFrontDoor(
    _ configuration: GatewayConfiguration, parts: GatewayParts, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void
) async throws -> (some ApplicationProtocol, LiveConnections) {
    let clock = configuration.runtime.clock
    let hub = RoomHub()
    // Followed for the process's life. On an edge these are handlers on the room streams, which
    // `RemoteRuntime` closes when graceful shutdown begins (a stream left open would hold the
    // edge's gRPC client, and so the edge, forever).
    _ = await parts.runtime.subscribe { events in hub.deliver(events) }
    _ = await parts.runtime.followTyping { note in hub.broadcast(.typing(user: note.user, active: note.active), in: note.session) }
    let live = LiveConnections(revocations: parts.accounts.revocations)
    let handoff = UpgradeHandoff()
    let router = buildRouter(configuration, parts: parts, hub: hub, handoff: handoff, live: live, pages: try await WebController.loadLibrary())
    var app = Application(
        router: router,
        // Frames up to the proxy's limit; the team room enforces its own, smaller one.
        // Frames as large as a notebook only where the workspace proxy shares this server.
        server: .guarded(
            webSocketRouter: router,
            maxFrameSize: configuration.workspaceOrigin == nil ? WorkspaceProxyController.maxMessageSize : RoomController.maxFrameSize,
            limits: configuration.connections, handoff: handoff
        ),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "ope"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
    // Services shut down in reverse order: the bots stop before the workspaces and the store they use.
    app.addServices(parts.services)
    app.addServices(
        CredentialSweeper(accounts: parts.accounts, connections: live, interval: configuration.credentialCheckInterval, clock: clock, logger: logger))
    if let workspacePort = configuration.workspacePort, let workspaces = parts.workspaces {
        // The separate workspace origin: the proxy alone, on its own port.
        let proxyRouter = Router(context: AppRequestContext.self)
        let proxyRoutes = RouteTable()
        proxyRouter.add(middleware: RouteProbeMiddleware())
        proxyRouter.add(middleware: RequestMetricsMiddleware())
        proxyRouter.add(middleware: ErrorMiddleware())
        proxyRouter.add(middleware: MethodNotAllowedMiddleware(routes: proxyRoutes))
        WorkspaceProxyController(
            workspaces: workspaces, runtime: parts.runtime, allowedOrigins: configuration.allowedOrigins,
            accounts: parts.accounts, frameAncestors: (["'self'"] + configuration.platformOrigins.sorted()).joined(separator: " "),
            live: live, clock: clock, inspects: configuration.inspectsWorkspaceSockets
        ).addRoutes(to: proxyRouter)
        proxyRoutes.use(proxyRouter)
        app.addServices(
            Application(
                router: proxyRouter,
                server: .guarded(
                    webSocketRouter: proxyRouter, maxFrameSize: WorkspaceProxyController.maxMessageSize, limits: configuration.connections,
                    // Its requests only relay (the proxy's answers come from its own connections
                    // on the same loops): no thread hops. The platform's port carries the rooms,
                    // whose history reads and presence measured slower and larger this way.
                    onEventLoop: true),
                configuration: .init(address: .hostname(configuration.host, port: workspacePort), serverName: "ope-workspaces"),
                logger: logger
            )
        )
    }
    return (app, live)
}

func buildRouter(
    _ configuration: GatewayConfiguration, parts: GatewayParts, hub: RoomHub, handoff: UpgradeHandoff, live: LiveConnections, pages: MustacheLibrary
) -> Router<AppRequestContext> {
    let accounts = parts.accounts
    let clock = configuration.runtime.clock
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
    let throttle = LoginThrottle(clock: clock)
    WebController(
        accounts: accounts, runtime: parts.runtime,
        passwords: PasswordSignIn(accounts: accounts, throttle: throttle, secureCookies: configuration.secureCookies), library: pages,
        allowedOrigins: configuration.allowedOrigins, clock: clock, hub: hub
    ).addRoutes(to: router)
    _ = OpenAPIDocument.json  // read now: a build without it stops at start, not at the first request
    SystemController(registry: OPEMetrics.registry, metricsToken: configuration.metricsToken).addRoutes(to: router)
    let api = router.group("api")
        .add(middleware: AuthenticationMiddleware(accounts: accounts, clock: clock, handoff: handoff))
        .add(middleware: CSRFMiddleware(allowedOrigins: configuration.allowedOrigins))
    AuthController(accounts: accounts, runtime: parts.runtime, throttle: throttle, secureCookies: configuration.secureCookies, clock: clock)
        .addRoutes(to: api)
    ModulesController(runtime: parts.runtime).addRoutes(to: api)
    LobbyController(runtime: parts.runtime, hub: hub).addRoutes(to: api)
    SessionsController(
        hub: hub, accounts: accounts, runtime: parts.runtime, workspaceOrigin: configuration.workspaceOrigin
    ).addRoutes(to: api)
    RoomController(runtime: parts.runtime, hub: hub, handoff: handoff, live: live, allowedOrigins: configuration.allowedOrigins, clock: clock)
        .addRoutes(to: api)
    UsersController(accounts: accounts).addRoutes(to: api)
    EventsController(runtime: parts.runtime).addRoutes(to: api)
    ResearchController(runtime: parts.runtime, accounts: accounts, clock: clock).addRoutes(to: api)
    if let origin = configuration.workspaceOrigin {
        // Workspaces live on their own origin: send browsers there.
        router.on("w/**", method: .get) { request, _ in
            Response(status: .temporaryRedirect, headers: [.location: origin + (request.head.path ?? request.uri.path)])
        }
    } else if let workspaces = parts.workspaces {
        WorkspaceProxyController(
            workspaces: workspaces, runtime: parts.runtime, allowedOrigins: configuration.allowedOrigins,
            accounts: accounts, live: live, clock: clock, inspects: configuration.inspectsWorkspaceSockets
        ).addRoutes(to: router)
    }
    routes.use(router)
    return router
}

/// Every route the platform's router serves, as method and path with `{name}` for parameters
/// (`**` is `{path}`): what `Web/openapi.json` must describe, and nothing more (`OpenAPIRouteTests`).
public func platformRoutes(_ configuration: GatewayConfiguration, gateway: Gateway) async throws -> [(method: String, path: String)] {
    let parts = GatewayParts(runtime: gateway.runtime, accounts: gateway.accounts, workspaces: gateway.runtime.workspaceAccess, services: [])
    let router = buildRouter(
        configuration, parts: parts, hub: RoomHub(), handoff: UpgradeHandoff(), live: gateway.connections, pages: try await WebController.loadLibrary())
    return router.routes.map { route in
        let path = "\(route.path)".split(separator: "/").map { component -> String in
            if component == "**" { return "{path}" }
            if component.hasPrefix(":") { return "{" + component.dropFirst() + "}" }
            return String(component)
        }
        return (route.method.rawValue, "/" + path.joined(separator: "/"))
    }
}

/// A cluster's core (`ope serve --role core`) over HTTP: no pages and no API, only `/healthz` and
/// `/metrics` for probes and Prometheus. `services` (the runtime's, then the gRPC server the edges
/// call) run with it and stop in reverse.
public func buildCoreApplication(
    host: String, port: Int, metricsToken: String?, services: [any Service], logger: Logger = Logger(label: "ope"),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    OPEMetrics.bootstrap()
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestMetricsMiddleware())
    router.add(middleware: ErrorMiddleware())
    SystemController(registry: OPEMetrics.registry, metricsToken: metricsToken).addRoutes(to: router)
    var app = Application(
        router: router, configuration: .init(address: .hostname(host, port: port), serverName: "ope-core"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) }, logger: logger
    )
    app.addServices(services)
    return app
}

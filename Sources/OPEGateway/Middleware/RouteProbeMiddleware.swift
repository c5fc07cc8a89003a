import Hummingbird

/// The first middleware of a router: a route probe (``RouteTable``) stops here, told only whether
/// the router matched a route for its path and method. Hummingbird records the matched route
/// before the first middleware runs and records nothing when none matched.
struct RouteProbeMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard context.isRouteProbe else { return try await next(request, context) }
        return Response(status: context.coreContext.endpointPath.value == nil ? .notFound : .noContent)
    }
}

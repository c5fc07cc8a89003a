import Hummingbird

/// Hummingbird's request metrics, leaving out the check made before a WebSocket upgrade (the
/// upgrade itself is counted).
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let metrics = MetricsMiddleware<AppRequestContext>()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !context.isUpgradeCheck else { return try await next(request, context) }
        return try await metrics.handle(request, context: context, next: next)
    }
}

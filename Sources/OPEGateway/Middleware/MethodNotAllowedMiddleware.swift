import HTTPTypes
import Hummingbird

/// Turns the router's 404 for a path that exists under other methods into a 405 with `Allow`
/// (RFC 9110 §15.5.6): TRACE, PROPFIND, DELETE on a read-only resource and the like.
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && context.coreContext.endpointPath.value == "NotFound" {
            // The router found no route (a handler's own 404 says which resource is missing).
            let allowed = await routes.methods(for: request, context: context)
            guard !allowed.isEmpty else { throw error }
            let list = allowed.map(\.rawValue).joined(separator: ", ")
            throw APIError(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path); it answers \(list)", headers: [.allow: list])
        }
    }
}

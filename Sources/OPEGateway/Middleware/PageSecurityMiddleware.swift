import HTTPTypes
import Hummingbird

/// Security headers for OPE's own pages and API: a Content-Security-Policy that allows scripts,
/// styles and connections from this origin only (no inline script), frames from this origin and
/// the workspace origin, and no framing of OPE by other sites. Workspace responses under `/w/`
/// keep JupyterLab's own policy (the proxy adds to it). It sits outside the error middleware, so
/// refusals (401, 404, …) carry the headers too.
struct PageSecurityMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let policy: String

    init(workspaceOrigin: String?) {
        let frames = ["'self'", workspaceOrigin].compactMap { $0 }.joined(separator: " ")
        policy = [
            "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'", "frame-src \(frames)",
            "frame-ancestors 'self'", "form-action 'self'", "base-uri 'none'", "object-src 'none'",
        ].joined(separator: "; ")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        if !request.uri.path.hasPrefix("/w/") { response.headers[.contentSecurityPolicy] = policy }
        return response
    }
}

import HTTPTypes
import Hummingbird

/// Stops other sites from acting with a signed-in user's cookie.
///
/// Every state-changing request (anything but GET, HEAD, OPTIONS) that is authenticated by the
/// session cookie must carry the session's CSRF token in `X-CSRF-Token`. Independently, a request
/// whose `Origin` names another site is refused, which also covers sign-in itself (login CSRF).
struct CSRFMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let headerName = HTTPField.Name("X-CSRF-Token")!

    /// Origins allowed besides the request's own host, e.g. the public URL behind a proxy.
    let allowedOrigins: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let safe: Set<HTTPRequest.Method> = [.get, .head, .options]
        if !safe.contains(request.method) {
            if let origin = request.headers[.origin], !isSameSite(origin: origin, request: request) {
                throw APIError(.forbidden, "cross-origin request from \(origin) refused")
            }
            // Signing in (again, or as someone else) replaces the session, so it cannot act with
            // the old one; login CSRF is covered by the Origin check above.
            if let identity = context.identity, case .cookie(_, let expected) = identity.method, request.uri.path != "/api/auth/login" {
                guard let given = request.headers[Self.headerName] else {
                    throw APIError(.forbidden, "missing CSRF token: send the X-CSRF-Token header given at sign-in (also in GET /api/me)")
                }
                guard Self.constantTimeEqual(given, expected) else { throw APIError(.forbidden, "wrong CSRF token") }
            }
        }
        return try await next(request, context)
    }

    func isSameSite(origin: String, request: Request) -> Bool {
        if allowedOrigins.contains(origin) { return true }
        guard let host = request.head.authority ?? request.headers[HTTPField.Name("Host")!] else { return false }
        if origin == "http://\(host)" || origin == "https://\(host)" { return true }
        // Non-browser WebSocket clients (swift-websocket among them) send `ws://host` without the
        // port. Browsers never send a ws: Origin, so accepting it opens nothing to other sites.
        let hostname = host.split(separator: ":").first.map(String.init) ?? host
        return origin == "ws://\(hostname)" || origin == "wss://\(hostname)"
    }

    static func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}

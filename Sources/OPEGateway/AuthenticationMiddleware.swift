import Hummingbird
import Logging
import OPECore
import OPEStore

/// Finds out who is calling, from the session cookie or a Bearer token, and puts it in the context.
/// It refuses nothing by itself: routes decide whether they need a user.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let cookieName = "ope_session"

    let store: Store

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let authorization = request.headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw APIError(.unauthorized, "Authorization must be 'Bearer <token>'")
            }
            guard let user = try await store.tokens.user(for: String(parts[1])) else {
                throw APIError(.unauthorized, "unknown or revoked API token")
            }
            context.identity = Identity(user: user, method: .bearer)
        } else if let token = request.cookies[Self.cookieName]?.value, !token.isEmpty {
            if let session = try await store.sessions.find(token: token) {
                context.identity = Identity(user: session.user, method: .cookie(token: token, csrfToken: session.csrfToken))
            }
        }
        if let identity = context.identity {
            context.logger[metadataKey: "user"] = "\(identity.user.username)"
        }
        return try await next(request, context)
    }
}

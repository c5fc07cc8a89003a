import Hummingbird
import Logging
import OPECore
import OPEStore

/// Finds out who is calling, from the session cookie or a Bearer token, and puts it in the context.
/// It refuses nothing by itself: routes decide whether they need a user.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let cookieName = "ope_session"

    let accounts: any AccountDirectory
    /// Decides whether an API token has expired (the gateway's clock, so tests can move it on).
    var clock: any PlatformClock = SystemClock()
    /// Carries who a WebSocket upgrade's check found the caller to be to the upgrade itself.
    var handoff: UpgradeHandoff?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.identity = try await identity(for: request, context: context)
        if let identity = context.identity {
            context.logger[metadataKey: "user"] = "\(identity.user.username)"
        }
        return try await next(request, context)
    }

    /// Who sent `request`; a WebSocket upgrade is asked once, in its check (see ``UpgradeHandoff``).
    private func identity(for request: Request, context: Context) async throws -> Identity? {
        guard let handoff, request.headers[.upgrade] != nil, let credential = Self.credential(of: request) else {
            return try await identity(for: request)
        }
        if !context.isUpgradeCheck, let identity = handoff.identity(credential: credential, connection: context.connection) {
            return identity
        }
        let identity = try await identity(for: request)
        if context.isUpgradeCheck, let identity { handoff.keep(identity, credential: credential, connection: context.connection) }
        return identity
    }

    /// Who sent `request`: nil without credentials (or with an expired cookie), 401 for a bad token.
    func identity(for request: Request) async throws -> Identity? {
        if let authorization = request.headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw APIError(.unauthorized, "Authorization must be 'Bearer <token>'")
            }
            let token = String(parts[1])
            guard let user = try await accounts.user(forToken: token, now: clock.now) else {
                throw APIError(.unauthorized, "unknown, expired or revoked API token (or its account is disabled)")
            }
            return Identity(user: user, method: .bearer(token: token))
        }
        if let token = request.cookies[Self.cookieName]?.value, !token.isEmpty, let session = try await accounts.findSignIn(token: token) {
            return Identity(user: session.user, method: .cookie(token: token, csrfToken: session.csrfToken))
        }
        return nil
    }

    /// The raw credential of a request (Bearer token or session cookie), as a cache key.
    static func credential(of request: Request) -> String? {
        if let authorization = request.headers[.authorization] { return authorization }
        return request.cookies[cookieName]?.value
    }
}

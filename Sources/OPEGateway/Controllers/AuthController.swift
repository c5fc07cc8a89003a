import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OPECore
import OPERuntime
import OPEStore

/// Sign-in, sign-out, the current user and API tokens.
struct AuthController {
    let accounts: any AccountDirectory
    let runtime: any RuntimeAPI
    let throttle: LoginThrottle
    let secureCookies: Bool
    /// Stamps tokens' creation and expiry.
    var clock: any PlatformClock = SystemClock()

    struct LoginRequest: Decodable {
        var username: String
        var password: String
    }

    struct LogoutRequest: Decodable {
        var everywhere: Bool?
        /// With `everywhere`: revoke the user's API tokens too.
        var revokeTokens: Bool?
    }

    struct MeResponse: Encodable, Sendable {
        var username: String
        var displayName: String
        /// The team role (driver, navigator, ...) while the user is in a session; otherwise the platform role.
        var role: String
        /// participant, instructor or admin, always.
        var platformRole: String
        /// The session the user is in, if any.
        var session: String?
        /// Present for cookie sign-ins: send it as X-CSRF-Token on state-changing requests.
        var csrfToken: String?

        init(user: User, session: SessionStateMachine? = nil, csrfToken: String?) {
            username = user.username
            displayName = user.displayName
            platformRole = user.role.rawValue
            role = session?.member(user.username)?.role ?? user.role.rawValue
            self.session = session?.id
            self.csrfToken = csrfToken
        }
    }

    struct TokenRequest: Decodable {
        var name: String
        /// Days until the token expires: 1 to 365, 90 when left out.
        var expiresInDays: Int?
    }

    /// A token as listed: never its secret.
    struct TokenInfo: Encodable, Sendable {
        var id: String
        var username: String
        var name: String
        var createdAt: String
        var expiresAt: String?
        var lastUsed: String?
        var expired: Bool

        init(_ token: APIToken, now: Date) {
            id = token.id
            username = token.username
            name = token.name
            createdAt = EventExporter.timestamp(token.createdAt)
            expiresAt = token.expiresAt.map(EventExporter.timestamp)
            lastUsed = token.lastUsed.map(EventExporter.timestamp)
            expired = token.isExpired(at: now)
        }
    }

    /// A new token: the secret, shown this once, and what the list will show.
    struct TokenResponse: Encodable, Sendable {
        var token: String
        var id: String
        var name: String
        var createdAt: String
        var expiresAt: String?
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("auth/login", use: login)
        group.post("auth/logout", use: logout)
        group.get("me", use: me)
        group.post("tokens", use: createToken)
        group.get("tokens", use: listTokens)
        group.delete("tokens/:id", use: revokeToken)
    }

    var passwords: PasswordSignIn { PasswordSignIn(accounts: accounts, throttle: throttle, secureCookies: secureCookies) }

    @Sendable func login(request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(LoginRequest.self, context: context)
        switch try await passwords.attempt(username: body.username, password: body.password, address: context.remoteAddress) {
        case .throttled(let seconds):
            throw APIError(.tooManyRequests, "too many failed sign-ins; try again in \(seconds) seconds", headers: [.retryAfter: "\(seconds)"])
        case .wrongPassword:
            throw APIError(.unauthorized, "wrong username or password")
        case .signedIn(let user, let signIn):
            context.logger.info("signed in", metadata: ["user": "\(user.username)"])
            var response = try JSONResponse(
                value: MeResponse(user: user, session: await runtime.currentSession(of: user.username), csrfToken: signIn.csrfToken)
            ).response(from: request, context: context)
            response.setCookie(passwords.cookie(for: signIn))
            return response
        }
    }

    @Sendable func logout(request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        // A well-formed request this credential cannot make: refused as such (403), not as malformed (400).
        guard case .cookie(let token, _) = identity.method else {
            throw APIError(.forbidden, "API tokens do not sign out; revoke the token instead (DELETE /api/tokens/{id})")
        }
        var body = LogoutRequest()
        if request.headers[.contentLength].map({ $0 != "0" }) ?? false {
            body = try await request.decodeJSON(LogoutRequest.self, context: context)
        }
        let everywhere = body.everywhere ?? false
        if body.revokeTokens == true, !everywhere { throw APIError(.badRequest, "revokeTokens goes with everywhere: true") }
        try await accounts.endSignIn(token: token, user: identity.user, everywhere: everywhere)
        if body.revokeTokens == true {
            let count = try await accounts.revokeAllTokens(of: identity.user.username, actor: identity.user.username, now: clock.now)
            context.logger.info("signed out everywhere and revoked API tokens", metadata: ["user": "\(identity.user.username)", "tokens": "\(count)"])
        }
        var response = Response(status: .noContent)
        response.setCookie(passwords.clearedCookie)
        return response
    }

    @Sendable func me(request: Request, context: AppRequestContext) async throws -> JSONResponse<MeResponse> {
        let identity = try context.requireIdentity()
        let user = identity.user
        return JSONResponse(value: MeResponse(user: user, session: try await runtime.currentSession(of: user.username), csrfToken: identity.csrfToken))
    }

    @Sendable func createToken(request: Request, context: AppRequestContext) async throws -> JSONResponse<TokenResponse> {
        let identity = try context.requireIdentity()
        let body = try await request.decodeJSON(TokenRequest.self, context: context)
        let name = body.name.trimmingCharacters(in: .whitespaces)
        guard (1...100).contains(name.count) else { throw APIError(.badRequest, "field 'name' must be 1 to 100 characters") }
        let days = body.expiresInDays ?? Int(APIToken.defaultLifetime / 86400)
        guard (1...Int(APIToken.maxLifetime / 86400)).contains(days) else {
            throw APIError(.badRequest, "field 'expiresInDays' must be 1 to \(Int(APIToken.maxLifetime / 86400))")
        }
        let issued = try await accounts.createToken(
            for: identity.user, name: name, lifetime: TimeInterval(days) * 86400, actor: identity.user.username, now: clock.now
        )
        context.logger.info("API token created", metadata: ["user": "\(identity.user.username)", "token": "\(issued.token.id)"])
        let token = issued.token
        return JSONResponse(
            value: TokenResponse(
                token: issued.secret, id: token.id, name: token.name, createdAt: EventExporter.timestamp(token.createdAt),
                expiresAt: token.expiresAt.map(EventExporter.timestamp)
            ),
            status: .created
        )
    }

    /// The caller's own tokens; admins may ask for one user's (`?user=`) or everyone's (`?all=true`).
    @Sendable func listTokens(request: Request, context: AppRequestContext) async throws -> JSONResponse<[TokenInfo]> {
        let identity = try context.requireIdentity()
        let query = request.uri.queryParameters
        var owner: String? = identity.user.username
        if let all = query["all"] {
            guard all == "true" || all == "false" else { throw APIError(.badRequest, "all must be true or false") }
            if all == "true" {
                guard identity.user.role == .admin else { throw APIError(.forbidden, "only admins may list everyone's tokens") }
                owner = nil
            }
        }
        if let user = query["user"].map(String.init), owner != nil {
            guard !user.isEmpty else { throw APIError(.badRequest, "user must be a username") }
            if user != identity.user.username {
                guard identity.user.role == .admin else { throw APIError(.forbidden, "only admins may list another user's tokens") }
                guard try await accounts.findUser(user) != nil else { throw APIError(.notFound, "no user '\(user)'") }
            }
            owner = user
        }
        let now = clock.now
        return JSONResponse(value: try await accounts.listTokens(of: owner).map { TokenInfo($0, now: now) })
    }

    /// Revokes one of the caller's tokens (admins: anyone's); it stops working at once.
    @Sendable func revokeToken(request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let id = try context.parameters.require("id")
        // Someone else's token is "not found" to a non-admin: ids are not secrets, but need not be confirmed.
        guard let token = try await accounts.findToken(id: id), token.username == identity.user.username || identity.user.role == .admin else {
            throw APIError(.notFound, "no token '\(id)' of yours")
        }
        try await accounts.revokeToken(id: id, actor: identity.user.username, now: clock.now)
        context.logger.info("API token revoked", metadata: ["user": "\(identity.user.username)", "owner": "\(token.username)", "token": "\(id)"])
        return Response(status: .noContent)
    }
}

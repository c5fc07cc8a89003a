import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OPECore
import OPEStore

/// Sign-in, sign-out, the current user and API tokens.
struct AuthController {
    let store: Store
    let sessions: SessionManager
    let throttle: LoginThrottle
    let secureCookies: Bool

    struct LoginRequest: Decodable {
        var username: String
        var password: String
    }

    struct LogoutRequest: Decodable {
        var everywhere: Bool?
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
    }

    struct TokenResponse: Encodable, Sendable {
        var token: String
        var name: String
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("auth/login", use: login)
        group.post("auth/logout", use: logout)
        group.get("me", use: me)
        group.post("tokens", use: createToken)
    }

    var passwords: PasswordSignIn { PasswordSignIn(store: store, throttle: throttle, secureCookies: secureCookies) }

    @Sendable func login(request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(LoginRequest.self, context: context)
        switch try await passwords.attempt(username: body.username, password: body.password, address: context.remoteAddress) {
        case .throttled(let seconds):
            throw APIError(.tooManyRequests, "too many failed sign-ins; try again in \(seconds) seconds", headers: [.retryAfter: "\(seconds)"])
        case .wrongPassword:
            throw APIError(.unauthorized, "wrong username or password")
        case .signedIn(let user, let token, let csrfToken):
            context.logger.info("signed in", metadata: ["user": "\(user.username)"])
            var response = try JSONResponse(
                value: MeResponse(user: user, session: await sessions.currentSession(of: user.username), csrfToken: csrfToken)
            ).response(from: request, context: context)
            response.setCookie(passwords.cookie(token: token))
            return response
        }
    }

    @Sendable func logout(request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        // A well-formed request this credential cannot make: refused as such (403), not as malformed (400).
        guard case .cookie(let token, _) = identity.method else { throw APIError(.forbidden, "API tokens do not sign out; revoke the token instead") }
        var everywhere = false
        if request.headers[.contentLength].map({ $0 != "0" }) ?? false {
            everywhere = try await request.decodeJSON(LogoutRequest.self, context: context).everywhere ?? false
        }
        try await store.sessions.end(token: token, user: identity.user, everywhere: everywhere)
        var response = Response(status: .noContent)
        response.setCookie(passwords.clearedCookie)
        return response
    }

    @Sendable func me(request: Request, context: AppRequestContext) async throws -> JSONResponse<MeResponse> {
        let identity = try context.requireIdentity()
        let user = identity.user
        return JSONResponse(value: MeResponse(user: user, session: await sessions.currentSession(of: user.username), csrfToken: identity.csrfToken))
    }

    @Sendable func createToken(request: Request, context: AppRequestContext) async throws -> JSONResponse<TokenResponse> {
        let identity = try context.requireIdentity()
        let body = try await request.decodeJSON(TokenRequest.self, context: context)
        let name = body.name.trimmingCharacters(in: .whitespaces)
        guard (1...100).contains(name.count) else { throw APIError(.badRequest, "field 'name' must be 1 to 100 characters") }
        let token = try await store.tokens.create(for: identity.user, name: name, actor: identity.user.username)
        return JSONResponse(value: TokenResponse(token: token, name: name), status: .created)
    }
}

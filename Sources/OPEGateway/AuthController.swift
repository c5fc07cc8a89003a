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

    @Sendable func login(request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(LoginRequest.self, context: context)
        let username = body.username.trimmingCharacters(in: .whitespaces).lowercased()
        if let wait = await throttle.retryAfter(username: username, address: context.remoteAddress) {
            let seconds = max(1, Int(wait.components.seconds) + 1)
            throw APIError(
                .tooManyRequests, "too many failed sign-ins; try again in \(seconds) seconds",
                headers: [.retryAfter: "\(seconds)"]
            )
        }
        guard let user = try await store.users.authenticate(username: username, password: body.password) else {
            await throttle.recordFailure(username: username, address: context.remoteAddress)
            var payload: [String: JSONValue] = ["username": .string(username)]
            if let address = context.remoteAddress { payload["address"] = .string(address) }
            _ = try await store.events.append(EventDraft(type: .userSignInFailed, payload: payload))
            throw APIError(.unauthorized, "wrong username or password")
        }
        await throttle.recordSuccess(username: username)
        let session = try await store.sessions.create(for: user, address: context.remoteAddress, via: "password")
        context.logger.info("signed in", metadata: ["user": "\(user.username)"])
        var response = try JSONResponse(
            value: MeResponse(user: user, session: await sessions.currentSession(of: user.username), csrfToken: session.csrfToken)
        ).response(from: request, context: context)
        response.setCookie(
            Cookie(
                name: AuthenticationMiddleware.cookieName, value: session.token, maxAge: Int(store.sessions.absoluteTimeout), path: "/",
                secure: secureCookies, httpOnly: true, sameSite: .lax
            )
        )
        return response
    }

    @Sendable func logout(request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        guard case .cookie(let token, _) = identity.method else { throw APIError(.badRequest, "API tokens do not sign out; revoke the token instead") }
        var everywhere = false
        if request.headers[.contentLength].map({ $0 != "0" }) ?? false {
            everywhere = try await request.decodeJSON(LogoutRequest.self, context: context).everywhere ?? false
        }
        try await store.sessions.end(token: token, user: identity.user, everywhere: everywhere)
        var response = Response(status: .noContent)
        response.setCookie(
            Cookie(name: AuthenticationMiddleware.cookieName, value: "", maxAge: 0, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax)
        )
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

import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OPECore
import OPEStore

/// The account page (`/account`): the user's own API tokens (create, list, revoke) and sign-out
/// everywhere, which offers to revoke the tokens too.
extension WebController {
    struct TokenForm: Decodable {
        var _csrf: String?
        var name: String?
        var days: String?
    }

    func addAccountRoutes(to pages: RouterGroup<AppRequestContext>) {
        pages.get("account", use: page(accountPage))
        pages.post("account/tokens", use: page(createTokenFromPage))
        pages.post("account/tokens/:id/revoke", use: page(revokeTokenFromPage))
    }

    @Sendable func accountPage(request: Request, context: AppRequestContext) async throws -> Response {
        try await renderAccount(try signedIn(request, context), notice: nil, error: nil, issued: nil, status: .ok)
    }

    @Sendable func createTokenFromPage(request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try signedIn(request, context)
        let form = try await checkedForm(TokenForm.self, csrf: \TokenForm._csrf, request, identity: identity, limit: 16 * 1024)
        let maxDays = Int(APIToken.maxLifetime / 86400)
        guard let days = Int(form.days ?? "90"), (1...maxDays).contains(days) else {
            return try await renderAccount(identity, notice: nil, error: "A token lives 1 to \(maxDays) days.", issued: nil, status: .badRequest)
        }
        do {
            let issued = try await accounts.createToken(
                for: identity.user, name: form.name ?? "", lifetime: TimeInterval(days) * 86400, actor: identity.user.username, now: clock.now
            )
            context.requestLogger.info("API token created", metadata: ["token": "\(issued.token.id)"])
            return try await renderAccount(identity, notice: nil, error: nil, issued: issued, status: .ok)
        } catch let error as UserStoreError {
            return try await renderAccount(identity, notice: nil, error: error.description, issued: nil, status: .badRequest)
        }
    }

    @Sendable func revokeTokenFromPage(request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try signedIn(request, context)
        _ = try await checkedForm(TokenForm.self, csrf: \TokenForm._csrf, request, identity: identity, limit: 16 * 1024)
        let id = try context.parameters.require("id")
        guard let token = try await accounts.findToken(id: id), token.username == identity.user.username else {
            return try await renderAccount(identity, notice: nil, error: "You have no token '\(id)' (already revoked?).", issued: nil, status: .notFound)
        }
        try await accounts.revokeToken(id: id, actor: identity.user.username, now: clock.now)
        context.requestLogger.info("API token revoked", metadata: ["token": "\(id)"])
        return try await renderAccount(identity, notice: "Token “\(token.name)” revoked: it no longer works.", error: nil, issued: nil, status: .ok)
    }

    func renderAccount(_ identity: Identity, notice: String?, error: String?, issued: APIToken.Issued?, status: HTTPResponse.Status) async throws -> Response {
        let tokens = try await accounts.listTokens(of: identity.user.username)
        let now = clock.now
        var values: [String: Any] = [
            "title": "Your account", "platformRole": identity.user.role.rawValue, "tokens": tokens.map { Self.tokenRow($0, now: now) },
            "hasTokens": !tokens.isEmpty, "tokenCount": tokens.count,
        ]
        if let issued {
            values["newToken"] = ["name": issued.token.name, "secret": issued.secret, "expires": issued.token.expiresAt.map(Self.shortDate) ?? "never"]
        }
        if let notice { values["notice"] = notice }
        if let error { values["error"] = error }
        return render("account", values, identity: identity, status: status)
    }
}

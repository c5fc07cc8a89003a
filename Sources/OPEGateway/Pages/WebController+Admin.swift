import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OPECore
import OPEStore

/// The admin page (`/admin`): accounts and API tokens, with plain forms (each carries the CSRF
/// token) so it works without scripts. The rules and refusals are ``AccountAdmin``'s, shared with
/// the JSON API; a refusal shows on the page in words with its 4xx status.
extension WebController {
    struct AdminForm: Decodable {
        var _csrf: String?
        var username: String?
        var displayName: String?
        var role: String?
        var password: String?
        var csv: String?
    }

    /// What an action leads to: the page with a short confirmation, or with passwords shown once.
    enum AdminOutcome {
        case done(String)
        case passwords(notice: String, [(user: User, password: String)])
    }

    func addAdminRoutes(to pages: RouterGroup<AppRequestContext>) {
        pages.get("admin", use: page(adminPage))
        pages.post(
            "admin/users",
            use: page { request, context in
                try await adminAction(request, context) { admin, form in
                    let (user, generated) = try await admin.create(
                        username: form.username ?? "", displayName: form.displayName, role: form.role, password: form.password)
                    guard let generated else { return .done("Account \(user.username) created.") }
                    return .passwords(notice: "Account \(user.username) created.", [(user, generated)])
                }
            })
        pages.post(
            "admin/import",
            use: page { request, context in
                try await adminAction(request, context) { admin, form in
                    let result = try await admin.importRoster(csv: form.csv ?? "")
                    var notice = "Imported \(result.created.count) accounts."
                    if !result.existing.isEmpty {
                        notice +=
                            " Left unchanged (they exist already): " + result.existing.map { "\($0.username) (line \($0.line))" }.joined(separator: ", ") + "."
                    }
                    return .passwords(notice: notice, result.created)
                }
            })
        pages.post(
            "admin/users/:username/role",
            use: page { request, context in
                let username = try context.parameters.require("username")
                return try await adminAction(request, context) { admin, form in
                    let user = try await admin.update(username: username, role: form.role ?? "", displayName: nil, disabled: nil)
                    return .done("\(user.username) is now \(user.role).")
                }
            })
        pages.post(
            "admin/users/:username/password",
            use: page { request, context in
                let username = try context.parameters.require("username")
                return try await adminAction(request, context) { admin, _ in
                    let password = try await admin.resetPassword(username: username, password: nil) ?? ""
                    guard let user = try await accounts.findUser(username) else { throw APIError(.notFound, "no user '\(username)'") }
                    return .passwords(notice: "New password for \(username); their sign-ins have ended.", [(user, password)])
                }
            })
        for (path, disabled) in [("disable", true), ("enable", false)] {
            pages.post(
                "admin/users/:username/\(path)",
                use: page { request, context in
                    let username = try context.parameters.require("username")
                    return try await adminAction(request, context) { admin, _ in
                        _ = try await admin.update(username: username, role: nil, displayName: nil, disabled: disabled)
                        return .done(
                            disabled
                                ? "\(username) is disabled: they cannot sign in, and their sign-ins and tokens stopped working."
                                : "\(username) can sign in again."
                        )
                    }
                })
        }
        pages.post(
            "admin/tokens/:id/revoke",
            use: page { request, context in
                let id = try context.parameters.require("id")
                return try await adminAction(request, context) { admin, _ in
                    guard let token = try await accounts.revokeToken(id: id, actor: admin.admin.user.username, now: clock.now) else {
                        throw APIError(.notFound, "no token '\(id)' (already revoked?)")
                    }
                    admin.logger.info("API token revoked", metadata: ["owner": "\(token.username)", "token": "\(id)"])
                    return .done("Token “\(token.name)” of \(token.username) revoked.")
                }
            })
    }

    /// The signed-in admin, or a page saying the page is not for them.
    func admin(_ request: Request, _ context: AppRequestContext) throws -> Identity {
        let identity = try signedIn(request, context)
        guard identity.user.role == .admin else {
            throw Stop(
                response: message(
                    "Admins only", "Accounts are managed by the platform's admins. Ask one if you need something changed.", identity: identity,
                    status: .forbidden))
        }
        return identity
    }

    @Sendable func adminPage(request: Request, context: AppRequestContext) async throws -> Response {
        try await renderAdmin(try admin(request, context), notice: nil, error: nil, passwords: [], status: .ok)
    }

    /// Runs an admin form: checks the admin and the CSRF token, then shows the outcome or the refusal.
    func adminAction(
        _ request: Request, _ context: AppRequestContext, _ action: (AccountAdmin, AdminForm) async throws -> AdminOutcome
    ) async throws -> Response {
        let identity = try admin(request, context)
        let form = try await checkedForm(AdminForm.self, csrf: \AdminForm._csrf, request, identity: identity, limit: 1 << 20)
        let admin = AccountAdmin(accounts: accounts, admin: identity, logger: context.requestLogger)
        do {
            switch try await action(admin, form) {
            case .done(let notice):
                return try await renderAdmin(identity, notice: notice, error: nil, passwords: [], status: .ok)
            case .passwords(let notice, let passwords):
                return try await renderAdmin(identity, notice: notice, error: nil, passwords: passwords, status: .ok)
            }
        } catch let error as APIError {
            return try await renderAdmin(identity, notice: nil, error: error.message, passwords: [], status: error.status)
        }
    }

    func renderAdmin(
        _ identity: Identity, notice: String?, error: String?, passwords: [(user: User, password: String)], status: HTTPResponse.Status
    ) async throws -> Response {
        let users = try await accounts.listUsers()
        let tokens = try await accounts.listTokens(of: nil)
        let now = clock.now
        let counts = Dictionary(grouping: tokens, by: \.username).mapValues(\.count)
        let userRows: [[String: Any]] = users.map { user in
            [
                "username": user.username, "displayName": user.displayName, "disabled": user.disabled, "tokenCount": counts[user.username] ?? 0,
                "roles": PlatformRole.allCases.map { ["name": $0.rawValue, "selected": $0 == user.role] },
            ]
        }
        var values: [String: Any] = [
            "title": "Accounts", "users": userRows, "userCount": users.count, "tokens": tokens.map { Self.tokenRow($0, now: now) },
            "hasTokens": !tokens.isEmpty, "tokenCount": tokens.count, "roleNames": PlatformRole.allCases.map(\.rawValue), "script": "admin.js",
            "hasPasswords": !passwords.isEmpty,
            "passwords": passwords.map { ["username": $0.user.username, "displayName": $0.user.displayName, "password": $0.password] },
        ]
        if let notice { values["notice"] = notice }
        if let error { values["error"] = error }
        return render("admin", values, identity: identity, status: status)
    }

    static func tokenRow(_ token: APIToken, now: Date) -> [String: Any] {
        [
            "id": token.id, "username": token.username, "name": token.name, "created": shortDate(token.createdAt),
            "expires": token.expiresAt.map(shortDate) ?? "never", "expired": token.isExpired(at: now), "lastUsed": token.lastUsed.map(shortDate) ?? "never",
        ]
    }

    /// A date as people read it in a table: `2026-11-29 14:05 UTC`.
    static func shortDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: date)
    }

    /// A form of a signed-in user, decoded as `F`, that must carry their CSRF token.
    func checkedForm<F: Decodable>(_ type: F.Type, csrf: KeyPath<F, String?>, _ request: Request, identity: Identity, limit: Int) async throws -> F {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw APIError(.contentTooLarge, "the form is larger than \(limit >> 10) KiB")
        }
        let form: F
        do {
            form = try URLEncodedFormDecoder().decode(F.self, from: String(buffer: buffer))
        } catch {
            throw APIError(.badRequest, "the form could not be read; reload the page and try again")
        }
        guard let token = identity.csrfToken, let sent = form[keyPath: csrf], CSRFMiddleware.constantTimeEqual(token, sent) else {
            throw Stop(
                response: message(
                    "Page out of date", "This page was opened before your last sign-in, so the action was not done. Reload the page and try again.",
                    identity: identity, status: .forbidden
                )
            )
        }
        return form
    }
}

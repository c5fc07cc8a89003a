import Foundation
import OPECore

/// The in-process directory: each question goes to the store that keeps the answer.
/// ``recordSignInFailure(username:address:)``, ``stillValid(_:now:)`` and ``revocations`` are
/// the store's own (`Store+Credentials.swift`, `Store.swift`).
extension Store: AccountDirectory {
    // MARK: Accounts

    public func findUser(_ username: String) async throws -> User? { try await users.find(username) }

    public func listUsers() async throws -> [User] { try await users.list() }

    public func authenticate(username: String, password: String) async throws -> User? {
        try await users.authenticate(username: username, password: password)
    }

    @discardableResult
    public func createUser(_ user: User, password: String, actor: String) async throws -> User {
        try await users.create(user, password: password, actor: actor)
    }

    public func updateUser(_ username: String, role: PlatformRole?, displayName: String?, actor: String) async throws -> User {
        try await users.update(username, role: role, displayName: displayName, actor: actor)
    }

    public func setPassword(_ username: String, password: String, actor: String) async throws {
        try await users.setPassword(username, password: password, actor: actor)
    }

    public func setDisabled(_ username: String, _ disabled: Bool, actor: String) async throws -> User {
        try await users.setDisabled(username, disabled, actor: actor)
    }

    public func importRoster(_ roster: Roster, actor: String) async throws -> Roster.ImportResult {
        try await users.importRoster(roster, actor: actor)
    }

    // MARK: API tokens

    public func createToken(for user: User, name: String, lifetime: TimeInterval, actor: String, now: Date) async throws -> APIToken.Issued {
        try await tokens.create(for: user, name: name, lifetime: lifetime, actor: actor, now: now)
    }

    public func findToken(id: String) async throws -> APIToken? { try await tokens.find(id: id) }

    public func listTokens(of username: String?) async throws -> [APIToken] { try await tokens.list(username: username) }

    @discardableResult
    public func revokeToken(id: String, actor: String, now: Date) async throws -> APIToken? {
        try await tokens.revoke(id: id, actor: actor, now: now)
    }

    public func revokeAllTokens(of username: String, actor: String, now: Date) async throws -> Int {
        try await tokens.revokeAll(of: username, actor: actor, now: now)
    }

    public func user(forToken secret: String, now: Date) async throws -> User? { try await tokens.user(for: secret, now: now) }

    // MARK: Browser sign-ins

    public func startSignIn(for user: User, address: String?, via method: String) async throws -> SignIn.Issued {
        let started = try await signIns.create(for: user, address: address, via: method)
        return SignIn.Issued(token: started.token, csrfToken: started.csrfToken, lifetime: signIns.absoluteTimeout)
    }

    public func findSignIn(token: String) async throws -> SignIn? { try await signIns.find(token: token) }

    public func endSignIn(token: String, user: User, everywhere: Bool) async throws {
        try await signIns.end(token: token, user: user, everywhere: everywhere)
    }
}

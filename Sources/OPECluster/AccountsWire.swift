import Foundation
import OPECore
import OPERuntime
import OPEStore

/// How the account directory's values cross the wire (`accounts.proto`): each Swift value as its
/// typed message and back. Refusals travel as the runtime's do (``RuntimeWire/Refusal``).
enum AccountsWire {
    // MARK: Accounts

    static func message(_ user: User) -> Ope_Runtime_V1_User {
        var message = Ope_Runtime_V1_User()
        message.username = user.username
        message.displayName = user.displayName
        message.role = user.role.rawValue
        message.createdAt = user.createdAt.timeIntervalSince1970
        message.disabled = user.disabled
        return message
    }

    static func user(_ message: Ope_Runtime_V1_User) throws -> User {
        User(
            username: message.username, displayName: message.displayName, role: try role(message.role),
            createdAt: Date(timeIntervalSince1970: message.createdAt), disabled: message.disabled
        )
    }

    /// A role by name, where an unknown one means the two sides run different versions (a 503 at
    /// the HTTP edge, like any answer that cannot be read).
    static func role(_ name: String) throws -> PlatformRole {
        guard let role = PlatformRole(rawValue: name) else {
            throw RuntimeError(.unavailable(retryAfterSeconds: 5), "unknown role '\(name)' from the directory; edges and cores may run different versions")
        }
        return role
    }

    static func found(_ user: User?) -> Ope_Runtime_V1_FoundUser {
        var message = Ope_Runtime_V1_FoundUser()
        if let user { message.user = self.message(user) }
        return message
    }

    static func user(_ found: Ope_Runtime_V1_FoundUser) throws -> User? {
        found.hasUser ? try user(found.user) : nil
    }

    static func message(_ entry: Roster.Entry) -> Ope_Runtime_V1_RosterEntry {
        var message = Ope_Runtime_V1_RosterEntry()
        message.line = Int64(entry.line)
        message.username = entry.username
        message.displayName = entry.displayName
        message.role = entry.role.rawValue
        return message
    }

    static func entry(_ message: Ope_Runtime_V1_RosterEntry) throws -> Roster.Entry {
        Roster.Entry(line: Int(clamping: message.line), username: message.username, displayName: message.displayName, role: try role(message.role))
    }

    static func message(_ result: Roster.ImportResult) -> Ope_Runtime_V1_ImportRosterResult {
        var message = Ope_Runtime_V1_ImportRosterResult()
        message.created = result.created.map { created in
            var account = Ope_Runtime_V1_ImportRosterResult.Created()
            account.user = self.message(created.user)
            account.password = created.password
            return account
        }
        message.existing = result.existing.map(self.message)
        return message
    }

    static func result(_ message: Ope_Runtime_V1_ImportRosterResult) throws -> Roster.ImportResult {
        Roster.ImportResult(
            created: try message.created.map { (user: try user($0.user), password: $0.password) }, existing: try message.existing.map(entry))
    }

    // MARK: API tokens

    static func message(_ token: APIToken) -> Ope_Runtime_V1_APIToken {
        var message = Ope_Runtime_V1_APIToken()
        message.id = token.id
        message.username = token.username
        message.name = token.name
        message.createdAt = token.createdAt.timeIntervalSince1970
        if let expiresAt = token.expiresAt { message.expiresAt = expiresAt.timeIntervalSince1970 }
        if let lastUsed = token.lastUsed { message.lastUsed = lastUsed.timeIntervalSince1970 }
        return message
    }

    static func token(_ message: Ope_Runtime_V1_APIToken) -> APIToken {
        APIToken(
            id: message.id, username: message.username, name: message.name, createdAt: Date(timeIntervalSince1970: message.createdAt),
            expiresAt: message.hasExpiresAt ? Date(timeIntervalSince1970: message.expiresAt) : nil,
            lastUsed: message.hasLastUsed ? Date(timeIntervalSince1970: message.lastUsed) : nil
        )
    }

    static func found(_ token: APIToken?) -> Ope_Runtime_V1_FoundToken {
        var message = Ope_Runtime_V1_FoundToken()
        if let token { message.token = self.message(token) }
        return message
    }

    static func token(_ found: Ope_Runtime_V1_FoundToken) -> APIToken? {
        found.hasToken ? token(found.token) : nil
    }

    // MARK: Sign-ins

    static func message(_ signIn: SignIn) -> Ope_Runtime_V1_SignIn {
        var message = Ope_Runtime_V1_SignIn()
        message.user = self.message(signIn.user)
        message.csrfToken = signIn.csrfToken
        message.createdAt = signIn.createdAt.timeIntervalSince1970
        return message
    }

    static func signIn(_ message: Ope_Runtime_V1_SignIn) throws -> SignIn {
        SignIn(user: try user(message.user), csrfToken: message.csrfToken, createdAt: Date(timeIntervalSince1970: message.createdAt))
    }

    static func found(_ signIn: SignIn?) -> Ope_Runtime_V1_FoundSignIn {
        var message = Ope_Runtime_V1_FoundSignIn()
        if let signIn { message.signIn = self.message(signIn) }
        return message
    }

    static func signIn(_ found: Ope_Runtime_V1_FoundSignIn) throws -> SignIn? {
        found.hasSignIn ? try signIn(found.signIn) : nil
    }

    // MARK: Credentials and revocations

    static func message(_ credential: Credential) -> Ope_Runtime_V1_Credential {
        var message = Ope_Runtime_V1_Credential()
        message.kind =
            switch credential.kind {
            case .signIn: .signIn
            case .token: .token
            }
        message.username = credential.username
        message.hash = credential.hash
        return message
    }

    /// Nil for a kind this side does not know (it cannot be one this side asked about).
    static func credential(_ message: Ope_Runtime_V1_Credential) -> Credential? {
        let kind: Credential.Kind
        switch message.kind {
        case .signIn: kind = .signIn
        case .token: kind = .token
        case .unspecified, .UNRECOGNIZED: return nil
        }
        return Credential(kind: kind, username: message.username, hash: message.hash)
    }

    static func message(_ revocation: Revocation) -> Ope_Runtime_V1_Revocation {
        var message = Ope_Runtime_V1_Revocation()
        message.username = revocation.username
        switch revocation.scope {
        case .signIn(let hash):
            message.scope = .signIn
            message.hash = hash
        case .allSignIns: message.scope = .allSignIns
        case .token(let hash):
            message.scope = .token
            message.hash = hash
        case .allTokens: message.scope = .allTokens
        case .account: message.scope = .account
        }
        return message
    }

    /// The stream's opening message: it covers no one (see `Revocations` in `accounts.proto`).
    static var opening: Ope_Runtime_V1_Revocation { Ope_Runtime_V1_Revocation() }

    /// The revocation a message carries; nil for the stream's opening message. A scope this side
    /// does not know revokes everything of the user: too much costs a round trip, too little
    /// would keep a revoked credential working.
    static func revocation(_ message: Ope_Runtime_V1_Revocation) -> Revocation? {
        let scope: Revocation.Scope
        switch message.scope {
        case .unspecified: return nil
        case .signIn: scope = .signIn(hash: message.hash)
        case .allSignIns: scope = .allSignIns
        case .token: scope = .token(hash: message.hash)
        case .allTokens: scope = .allTokens
        case .account, .UNRECOGNIZED: scope = .account
        }
        return Revocation(username: message.username, scope: scope)
    }
}

import Foundation

/// What a live connection was opened with: one browser sign-in or one API token, by the hash
/// under which the store keeps it (never the secret itself).
public struct Credential: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case signIn
        case token
    }

    public var kind: Kind
    public var username: String
    public var hash: String

    public init(kind: Kind, username: String, hash: String) {
        self.kind = kind
        self.username = username
        self.hash = hash
    }

    /// The credential of a session cookie's secret.
    public static func signIn(username: String, cookieToken: String) -> Credential {
        Credential(kind: .signIn, username: username, hash: SecretToken.hash(cookieToken))
    }

    /// The credential of an API token's secret.
    public static func token(username: String, secret: String) -> Credential {
        Credential(kind: .token, username: username, hash: SecretToken.hash(secret))
    }
}

/// Credentials that stopped working: sent by the stores when a sign-in ends, a token is revoked or
/// an account is disabled, so that what is still open with them (room sockets, proxied JupyterLab
/// connections, the proxy's access cache) is closed at once rather than at its next check.
public struct Revocation: Sendable, Hashable {
    public enum Scope: Sendable, Hashable {
        /// One browser sign-in (sign out), by the hash of its cookie token.
        case signIn(hash: String)
        /// Every browser sign-in of the user (sign out everywhere, a new password).
        case allSignIns
        /// One API token, by its hash.
        case token(hash: String)
        /// Every API token of the user.
        case allTokens
        /// Everything the user has open (the account was disabled).
        case account
    }

    public var username: String
    public var scope: Scope

    public init(username: String, scope: Scope) {
        self.username = username
        self.scope = scope
    }

    /// Whether `credential` stops working with this revocation.
    public func covers(_ credential: Credential) -> Bool {
        guard credential.username == username else { return false }
        switch (scope, credential.kind) {
        case (.account, _), (.allSignIns, .signIn), (.allTokens, .token): return true
        case (.signIn(let hash), .signIn), (.token(let hash), .token): return hash == credential.hash
        default: return false
        }
    }
}

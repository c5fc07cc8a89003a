import Foundation

/// What is known about an API token after it was created: everything but its secret, which is
/// shown once and stored only as a hash.
public struct APIToken: Sendable, Hashable {
    /// How long a token lives unless its creator says otherwise.
    public static let defaultLifetime: TimeInterval = 90 * 86400
    /// The longest a token may live: a forgotten script's token ends some day.
    public static let maxLifetime: TimeInterval = 365 * 86400

    /// A short public id to list and revoke it by (not a secret, not usable to authenticate).
    public var id: String
    public var username: String
    /// What the token is for, as its creator named it.
    public var name: String
    public var createdAt: Date
    /// Nil only for tokens with no end (none are made so today; see the v4 migration).
    public var expiresAt: Date?
    /// When it last authenticated a request (recorded at most once a minute).
    public var lastUsed: Date?

    public init(id: String, username: String, name: String, createdAt: Date, expiresAt: Date?, lastUsed: Date? = nil) {
        self.id = id
        self.username = username
        self.name = name
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastUsed = lastUsed
    }

    public func isExpired(at now: Date) -> Bool {
        expiresAt.map { $0 <= now } ?? false
    }

    /// A token just created: its secret, to be shown to its owner once, and its record.
    public struct Issued: Sendable {
        public var secret: String
        public var token: APIToken

        public init(secret: String, token: APIToken) {
            self.secret = secret
            self.token = token
        }
    }
}

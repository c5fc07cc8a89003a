import Foundation
import GRDB
import OPECore

/// Long-lived tokens for scripts (`Authorization: Bearer`). Shown once at creation, stored hashed;
/// they expire (90 days unless asked otherwise, a year at most) and can be listed and revoked.
public struct APITokenStore: Sendable {
    public static let prefix = "ope_"
    let database: StoreDatabase
    let events: EventLog
    let revocations: RevocationNotifier
    /// Uses waiting to be noted in `last_used`, shared by copies of this store.
    let uses = UseNotes(sql: "UPDATE api_tokens SET last_used = ? WHERE token_hash = ?")

    public init(database: StoreDatabase, events: EventLog, revocations: RevocationNotifier = RevocationNotifier()) {
        self.database = database
        self.events = events
        self.revocations = revocations
    }

    /// Creates a token for `user` living `lifetime` seconds and returns it with its secret, which
    /// cannot be shown again.
    ///
    /// - Throws: ``UserStoreError/invalid(_:)`` for an empty or long name or a lifetime out of range.
    public func create(
        for user: User, name: String, lifetime: TimeInterval = APIToken.defaultLifetime, actor: String, now: Date = Date()
    ) async throws -> APIToken.Issued {
        let name = name.trimmingCharacters(in: .whitespaces)
        guard (1...100).contains(name.count) else { throw UserStoreError.invalid("a token's name must be 1 to 100 characters") }
        guard lifetime >= 60, lifetime <= APIToken.maxLifetime else {
            throw UserStoreError.invalid("a token must live between a minute and \(Int(APIToken.maxLifetime / 86400)) days")
        }
        let secret = Self.prefix + SecretToken.generate()
        let record = APIToken(id: Self.newID(), username: user.username, name: name, createdAt: now, expiresAt: now.addingTimeInterval(lifetime))
        let draft = EventDraft(
            time: now, type: .tokenCreated, actor: actor,
            payload: TokenCreatedPayload(
                username: user.username, name: name, id: record.id, expiresAt: EventExporter.timestamp(now.addingTimeInterval(lifetime))
            )
        )
        _ = try await events.append(draft) { db in
            try db.execute(
                sql: "INSERT INTO api_tokens (token_hash, id, username, name, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [SecretToken.hash(secret), record.id, user.username, name, now.timeIntervalSince1970, record.expiresAt?.timeIntervalSince1970]
            )
        }
        return APIToken.Issued(secret: secret, token: record)
    }

    /// The user a token belongs to, or nil if it is unknown, revoked, expired or its account is
    /// disabled. Notes when it was used (at most once a minute: reads stay reads on the hot path).
    public func user(for secret: String, now: Date = Date()) async throws -> User? {
        guard secret.hasPrefix(Self.prefix) else { return nil }
        let hash = SecretToken.hash(secret)
        let found: (user: User, token: APIToken)? = try await database.writer.read { db in
            // A cached statement: compiled once per connection, not on every request.
            let statement = try db.cachedStatement(
                sql: """
                    SELECT t.id AS token_id, t.name AS token_name, t.created_at AS token_created, t.expires_at, t.last_used, u.*
                    FROM api_tokens t JOIN users u ON u.username = t.username WHERE t.token_hash = ?
                    """)
            guard let row = try Row.fetchOne(statement, arguments: [hash]) else { return nil }
            return (try UserStore.user(row: row), Self.token(row: row, prefix: "token_"))
        }
        guard let found, !found.user.disabled, !found.token.isExpired(at: now) else { return nil }
        if now.timeIntervalSince1970 - (found.token.lastUsed?.timeIntervalSince1970 ?? 0) > 60 {
            try await uses.note(hash, at: now.timeIntervalSince1970, in: database)
        }
        return found.user
    }

    /// The tokens of `username`, or of everyone when nil, newest first (expired ones included,
    /// until they are revoked).
    public func list(username: String? = nil) async throws -> [APIToken] {
        try await database.writer.read { db in
            let select = "SELECT id AS token_id, username, name AS token_name, created_at AS token_created, expires_at, last_used FROM api_tokens"
            let rows: [Row]
            if let username {
                rows = try Row.fetchAll(db, sql: select + " WHERE username = ? ORDER BY created_at DESC, id", arguments: [username])
            } else {
                rows = try Row.fetchAll(db, sql: select + " ORDER BY created_at DESC, id")
            }
            return rows.map { Self.token(row: $0, prefix: "token_") }
        }
    }

    /// The token with public id `id`, if any.
    public func find(id: String) async throws -> APIToken? {
        try await list().first { $0.id == id }
    }

    /// Revokes one token: it stops working at once, open connections included. Returns it, or nil
    /// if there is no such token.
    @discardableResult
    public func revoke(id: String, actor: String, now: Date = Date()) async throws -> APIToken? {
        guard let token = try await find(id: id) else { return nil }
        let draft = EventDraft(time: now, type: .tokenRevoked, actor: actor, payload: TokenRevokedPayload(username: token.username, id: id))
        let hash = try await database.writer.read { db in try String.fetchOne(db, sql: "SELECT token_hash FROM api_tokens WHERE id = ?", arguments: [id]) }
        _ = try await events.append(draft) { db in try db.execute(sql: "DELETE FROM api_tokens WHERE id = ?", arguments: [id]) }
        if let hash { revocations.publish(Revocation(username: token.username, scope: .token(hash: hash))) }
        return token
    }

    /// Revokes every token of `username` (sign-out everywhere, when asked to); returns how many.
    @discardableResult
    public func revokeAll(of username: String, actor: String, now: Date = Date()) async throws -> Int {
        let tokens = try await list(username: username)
        guard !tokens.isEmpty else { return 0 }
        let drafts = tokens.map { EventDraft(time: now, type: .tokenRevoked, actor: actor, payload: TokenRevokedPayload(username: username, id: $0.id)) }
        _ = try await events.append(contentsOf: drafts) { db in try db.execute(sql: "DELETE FROM api_tokens WHERE username = ?", arguments: [username]) }
        revocations.publish(Revocation(username: username, scope: .allTokens))
        return tokens.count
    }

    /// A short random public id: 12 hex digits.
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<6).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    static func token(row: Row, prefix: String) -> APIToken {
        let expires: Double? = row["expires_at"]
        let lastUsed: Double? = row["last_used"]
        return APIToken(
            id: row[prefix + "id"], username: row["username"], name: row[prefix + "name"], createdAt: Date(timeIntervalSince1970: row[prefix + "created"]),
            expiresAt: expires.map(Date.init(timeIntervalSince1970:)), lastUsed: lastUsed.map(Date.init(timeIntervalSince1970:))
        )
    }
}

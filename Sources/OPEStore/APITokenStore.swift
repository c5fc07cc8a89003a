import Foundation
import GRDB
import OPECore

/// Long-lived tokens for scripts (`Authorization: Bearer`). Shown once at creation, stored hashed.
public struct APITokenStore: Sendable {
    public static let prefix = "ope_"
    let database: StoreDatabase
    let events: EventLog

    public init(database: StoreDatabase, events: EventLog) {
        self.database = database
        self.events = events
    }

    /// Creates a token for `user` and returns it; it cannot be shown again.
    public func create(for user: User, name: String, actor: String, now: Date = Date()) async throws -> String {
        let token = Self.prefix + SecretToken.generate()
        let hash = SecretToken.hash(token)
        let draft = EventDraft(time: now, type: .tokenCreated, actor: actor, payload: ["username": .string(user.username), "name": .string(name)])
        _ = try await events.append(draft) { db in
            try db.execute(
                sql: "INSERT INTO api_tokens (token_hash, username, name, created_at) VALUES (?, ?, ?, ?)",
                arguments: [hash, user.username, name, now.timeIntervalSince1970]
            )
        }
        return token
    }

    /// The user a token belongs to, or nil.
    public func user(for token: String) async throws -> User? {
        guard token.hasPrefix(Self.prefix) else { return nil }
        let hash = SecretToken.hash(token)
        return try await database.writer.read { db in
            try Row.fetchOne(
                db, sql: "SELECT u.* FROM api_tokens t JOIN users u ON u.username = t.username WHERE t.token_hash = ?", arguments: [hash]
            ).map(UserStore.user(row:))
        }
    }
}

import Foundation
import GRDB
import OPECore

/// Server-side sign-ins ("session" in OPE means a team's session; a browser's is a sign-in).
/// The cookie carries a random token; the table (`auth_sessions`, its name from before) keeps only its hash.
public struct SignInStore: Sendable {
    let database: StoreDatabase
    let events: EventLog
    /// A sign-in unused for this long is over.
    public var idleTimeout: TimeInterval = 12 * 3600
    /// No sign-in lives longer than this.
    public var absoluteTimeout: TimeInterval = 7 * 24 * 3600
    let revocations: RevocationNotifier
    /// Uses waiting to be noted in `last_seen`, shared by copies of this store.
    let uses = UseNotes(sql: "UPDATE auth_sessions SET last_seen = ? WHERE token_hash = ?")

    public init(database: StoreDatabase, events: EventLog, revocations: RevocationNotifier = RevocationNotifier()) {
        self.database = database
        self.events = events
        self.revocations = revocations
    }

    /// Starts a sign-in for `user`, recording the sign-in; returns the cookie token and CSRF token.
    public func create(for user: User, address: String?, via method: String, now: Date = Date()) async throws -> (token: String, csrfToken: String) {
        let token = SecretToken.generate()
        let csrf = SecretToken.generate()
        let hash = SecretToken.hash(token)
        let payload = SignedInPayload(method: method, address: address)
        _ = try await events.append(EventDraft(time: now, type: .userSignedIn, actor: user.username, payload: payload)) { db in
            try db.execute(
                sql: "INSERT INTO auth_sessions (token_hash, username, csrf_token, created_at, last_seen) VALUES (?, ?, ?, ?, ?)",
                arguments: [hash, user.username, csrf, now.timeIntervalSince1970, now.timeIntervalSince1970]
            )
        }
        return (token, csrf)
    }

    /// The live sign-in for a cookie token, refreshing its idle timer; nil if unknown or expired.
    public func find(token: String, now: Date = Date()) async throws -> SignIn? {
        let hash = SecretToken.hash(token)
        let found: (signIn: SignIn, lastSeen: Double)? = try await database.writer.read { db in
            let statement = try db.cachedStatement(
                sql: """
                    SELECT s.csrf_token, s.created_at AS session_created, s.last_seen, u.*
                    FROM auth_sessions s JOIN users u ON u.username = s.username WHERE s.token_hash = ?
                    """)
            guard let row = try Row.fetchOne(statement, arguments: [hash]) else { return nil }
            let created: Double = row["session_created"]
            let signIn = SignIn(user: try UserStore.user(row: row), csrfToken: row["csrf_token"], createdAt: Date(timeIntervalSince1970: created))
            return (signIn, row["last_seen"])
        }
        guard let found, !found.signIn.user.disabled else { return nil }
        let created = found.signIn.createdAt.timeIntervalSince1970
        let lastSeen = found.lastSeen
        let nowSeconds = now.timeIntervalSince1970
        guard nowSeconds - lastSeen < idleTimeout, nowSeconds - created < absoluteTimeout else {
            try await database.writer.write { db in try db.execute(sql: "DELETE FROM auth_sessions WHERE token_hash = ?", arguments: [hash]) }
            return nil
        }
        // Touch at most once a minute: reads stay reads on the hot path, and the touches of a
        // burst share a transaction.
        if nowSeconds - lastSeen > 60 { try await uses.note(hash, at: nowSeconds, in: database) }
        return found.signIn
    }

    /// Ends one sign-in (logout) or, with `everywhere`, every sign-in of its user; what is still
    /// open with them (room sockets, proxied connections) is told to close.
    public func end(token: String, user: User, everywhere: Bool, now: Date = Date()) async throws {
        let hash = SecretToken.hash(token)
        let draft = EventDraft(time: now, type: .userSignedOut, actor: user.username, payload: SignedOutPayload(everywhere: everywhere))
        _ = try await events.append(draft) { db in
            if everywhere {
                try db.execute(sql: "DELETE FROM auth_sessions WHERE username = ?", arguments: [user.username])
            } else {
                try db.execute(sql: "DELETE FROM auth_sessions WHERE token_hash = ?", arguments: [hash])
            }
        }
        revocations.publish(Revocation(username: user.username, scope: everywhere ? .allSignIns : .signIn(hash: hash)))
    }
}

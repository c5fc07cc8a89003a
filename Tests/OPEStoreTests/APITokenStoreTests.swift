import Foundation
import GRDB
import OPECore
import OPEStore
import Testing

@Suite struct APITokenStoreTests {
    /// A data dir as OPE left it before tokens could expire (schema v3), with one token in it.
    static func oldDataDir(token: String) throws -> String {
        let folder = NSTemporaryDirectory() + "ope-store-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let queue = try DatabaseQueue(path: folder + "/ope.sqlite")
        try queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                    INSERT INTO grdb_migrations VALUES ('v1'), ('v2-drop-time-index'), ('v3-external-bot-cursors');
                    CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, type TEXT NOT NULL, actor TEXT, session TEXT, payload TEXT NOT NULL);
                    CREATE INDEX events_session ON events(session, id) WHERE session IS NOT NULL;
                    CREATE TABLE users (username TEXT PRIMARY KEY NOT NULL, display_name TEXT NOT NULL, role TEXT NOT NULL, password_hash TEXT NOT NULL, created_at REAL NOT NULL);
                    CREATE TABLE auth_sessions (token_hash TEXT PRIMARY KEY NOT NULL, username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
                        csrf_token TEXT NOT NULL, created_at REAL NOT NULL, last_seen REAL NOT NULL);
                    CREATE INDEX auth_sessions_user ON auth_sessions(username);
                    CREATE TABLE api_tokens (token_hash TEXT PRIMARY KEY NOT NULL, username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
                        name TEXT NOT NULL, created_at REAL NOT NULL, last_used REAL);
                    CREATE TABLE external_bot_cursors (session TEXT PRIMARY KEY NOT NULL, delivered INTEGER NOT NULL);
                    INSERT INTO users VALUES ('grader', 'Grader', 'instructor', '!', 1700000000);
                    """
            )
            try db.execute(
                sql: "INSERT INTO api_tokens (token_hash, username, name, created_at) VALUES (?, 'grader', 'old script', 1700000000)",
                arguments: [SecretToken.hash(token)])
        }
        return folder
    }

    @Test func tokensMadeBeforeExpiryExistedKeepWorkingAndGetTheDefaultLifetime() async throws {
        let secret = "ope_" + SecretToken.generate()
        let folder = try Self.oldDataDir(token: secret)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try Store(dataDirectory: folder)
        #expect(try await store.tokens.user(for: secret)?.username == "grader")
        let token = try #require(try await store.tokens.list(username: "grader").first)
        #expect(token.name == "old script" && token.id.count == 12)
        let expiry = try #require(token.expiresAt)
        #expect(abs(expiry.timeIntervalSinceNow - APIToken.defaultLifetime) < 3600)
        #expect(token.lastUsed != nil, "using the token is noted")
        // It can be revoked like any other.
        try await store.tokens.revoke(id: token.id, actor: "test")
        #expect(try await store.tokens.user(for: secret) == nil)
    }

    @Test func revocationsNameWhatTheyCover() {
        let signIn = Credential.signIn(username: "alice", cookieToken: "c1")
        let token = Credential.token(username: "alice", secret: "ope_t1")
        #expect(Revocation(username: "alice", scope: .allSignIns).covers(signIn))
        #expect(!Revocation(username: "alice", scope: .allSignIns).covers(token))
        #expect(Revocation(username: "alice", scope: .allTokens).covers(token))
        #expect(Revocation(username: "alice", scope: .account).covers(token) && Revocation(username: "alice", scope: .account).covers(signIn))
        #expect(Revocation(username: "alice", scope: .signIn(hash: SecretToken.hash("c1"))).covers(signIn))
        #expect(!Revocation(username: "alice", scope: .signIn(hash: SecretToken.hash("c2"))).covers(signIn))
        #expect(!Revocation(username: "bob", scope: .account).covers(signIn))
    }
}

import Foundation
import GRDB

/// The SQLite database in the data dir: the event log plus the tables derived from it that need
/// fast look-ups (accounts, sign-ins, API tokens).
public struct StoreDatabase: Sendable {
    public let writer: DatabasePool
    public let path: String

    /// Opens (creating if needed) `<dataDirectory>/ope.sqlite` in WAL mode with full fsync.
    ///
    /// - Throws: ``StoreError`` naming the folder or file when it cannot be created, read or written.
    public init(dataDirectory: String) throws {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        if fileManager.fileExists(atPath: dataDirectory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw StoreError("data dir \(dataDirectory) is a file, not a folder") }
        } else {
            do {
                try fileManager.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
            } catch {
                throw StoreError("cannot create the data dir \(dataDirectory): \(error.localizedDescription)")
            }
        }
        guard fileManager.isReadableFile(atPath: dataDirectory), fileManager.isWritableFile(atPath: dataDirectory),
            fileManager.isExecutableFile(atPath: dataDirectory)
        else {
            throw StoreError("the data dir \(dataDirectory) is not readable and writable by this user; fix its permissions or pass another --data")
        }
        let path = dataDirectory + "/ope.sqlite"
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // Checkpoint the WAL every ~40 MB instead of every 4 MB: checkpoints run inside commits
            // and, at the default, took a third of the time of a busy log.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 10000")
        }
        configuration.busyMode = .timeout(10)
        do {
            writer = try DatabasePool(path: path, configuration: configuration)
            // FULL makes every commit durable on disk, not only in the OS cache: an acknowledged
            // event survives a power cut, not just a crash. Batching keeps this affordable. It is
            // set here, on the one writing connection, because the pool sets NORMAL when it turns
            // WAL on, after `prepareDatabase` has run, and NORMAL syncs only at checkpoints.
            try writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try Self.migrator.migrate(writer)
        } catch let error as DatabaseError {
            throw StoreError("cannot open the database \(path): \(error.message ?? error.description)")
        }
        self.path = path
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE events (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        time REAL NOT NULL,
                        type TEXT NOT NULL,
                        actor TEXT,
                        session TEXT,
                        payload TEXT NOT NULL
                    );
                    CREATE INDEX events_session ON events(session, id) WHERE session IS NOT NULL;
                    CREATE INDEX events_time ON events(time);
                    CREATE TABLE users (
                        username TEXT PRIMARY KEY NOT NULL,
                        display_name TEXT NOT NULL,
                        role TEXT NOT NULL,
                        password_hash TEXT NOT NULL,
                        created_at REAL NOT NULL
                    );
                    CREATE TABLE auth_sessions (
                        token_hash TEXT PRIMARY KEY NOT NULL,
                        username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
                        csrf_token TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        last_seen REAL NOT NULL
                    );
                    CREATE INDEX auth_sessions_user ON auth_sessions(username);
                    CREATE TABLE api_tokens (
                        token_hash TEXT PRIMARY KEY NOT NULL,
                        username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
                        name TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        last_used REAL
                    );
                    """
            )
        }
        migrator.registerMigration("v2-drop-time-index") { db in
            // Time filters are for exports, which read the log in id order anyway; the index cost
            // a quarter of the insert work on the hot path.
            try db.execute(sql: "DROP INDEX IF EXISTS events_time")
        }
        migrator.registerMigration("v3-external-bot-cursors") { db in
            // How far each session's events have been delivered to its external bot (the log is the outbox).
            try db.execute(sql: "CREATE TABLE external_bot_cursors (session TEXT PRIMARY KEY NOT NULL, delivered INTEGER NOT NULL)")
        }
        migrator.registerMigration("v4-token-expiry-disabled-accounts") { db in
            // Tokens get a public id to be listed and revoked by, and an end. Tokens made before
            // this migration keep working and are given the default lifetime from today, so that
            // no token lives for ever; their owners see the date in `ope user token list`.
            try db.execute(
                sql: """
                    ALTER TABLE api_tokens ADD COLUMN id TEXT;
                    ALTER TABLE api_tokens ADD COLUMN expires_at REAL;
                    UPDATE api_tokens SET id = lower(hex(randomblob(6))), expires_at = ?;
                    CREATE UNIQUE INDEX api_tokens_id ON api_tokens(id);
                    CREATE INDEX api_tokens_user ON api_tokens(username);
                    ALTER TABLE users ADD COLUMN disabled_at REAL;
                    """,
                arguments: [Date().timeIntervalSince1970 + APIToken.defaultLifetime]
            )
        }
        return migrator
    }
}

/// A storage problem described in words a person can act on.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

import GRDB

/// How far each session's events have been delivered to its external bot. The event log itself is
/// the outbox: whatever lies after a session's cursor is still to be sent, so nothing committed is
/// ever lost, and moving the cursor in the same transaction as the bot's replies means no reply
/// is recorded twice.
public struct ExternalBotCursors: Sendable {
    let database: StoreDatabase

    public init(database: StoreDatabase) { self.database = database }

    /// Every session's cursor.
    public func all() async throws -> [String: Int64] {
        try await database.writer.read { db in
            var cursors: [String: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT session, delivered FROM external_bot_cursors") { cursors[row["session"]] = row["delivered"] }
            return cursors
        }
    }

    /// Moves a cursor on its own (the event needed no answer).
    public func set(session: String, delivered: Int64) async throws {
        try await database.writer.write { db in try Self.write(db, session: session, delivered: delivered) }
    }

    /// The same, as part of another transaction (``EventLog/append(contentsOf:alongside:)``).
    public static func write(_ db: Database, session: String, delivered: Int64) throws {
        try db.execute(
            sql: "INSERT INTO external_bot_cursors (session, delivered) VALUES (?, ?) ON CONFLICT(session) DO UPDATE SET delivered = excluded.delivered",
            arguments: [session, delivered]
        )
    }
}

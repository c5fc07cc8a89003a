import Foundation
import GRDB
import OPECore

/// Writes a batch of appends inside one transaction, so that the whole batch costs one fsync.
///
/// Appends without an `alongside` write cannot fail one by one (an events row has no constraint
/// a valid draft can break), so consecutive ones are inserted together with multi-row INSERTs. An
/// append with an `alongside` write gets a savepoint of its own: when its closure throws, only its
/// writes are rolled back and only it fails; the rest of the batch commits.
enum EventBatchWriter {
    /// One append call: its events in order, and the writes to commit atomically with them.
    struct Append: Sendable {
        var events: [EventCoding.Encoded]
        var alongside: EventLog.Alongside?
    }

    /// Rows per INSERT statement, largest first; a run of n rows uses the largest that fits, then
    /// the next, so that at most this many distinct statements are ever prepared and cached.
    private static let chunkSizes = [64, 32, 16, 8, 4, 2, 1]
    /// `OR FAIL`, not the default `OR ABORT`: to undo an aborted multi-row statement SQLite keeps a
    /// statement journal, a copy of every page the statement touches, spilled to a temporary file
    /// past 64 KiB; that doubled the writes per event. FAIL needs none, and nothing here relies on a
    /// failed statement undoing its own earlier rows: a failure fails the whole batch, or rolls back
    /// the append's savepoint.
    private static let insertSQL: [Int: String] = Dictionary(
        uniqueKeysWithValues: chunkSizes.map { rows in
            let values = Array(repeating: "(?, ?, ?, ?, ?)", count: rows).joined(separator: ", ")
            return (rows, "INSERT OR FAIL INTO events (time, type, actor, session, payload) VALUES " + values)
        })

    /// Writes `appends` in order into the transaction open on `db`.
    ///
    /// - Returns: per append, its committed events or the error of its `alongside` write (then
    ///   none of its rows are in the transaction).
    /// - Throws: when the transaction itself can no longer commit; then nothing of the batch may be
    ///   reported as written.
    static func write(_ appends: [Append], in db: Database) throws -> [Result<[Event], any Error>] {
        var results: [Result<[Event], any Error>] = []
        results.reserveCapacity(appends.count)
        var start = 0
        while start < appends.count {
            if let alongside = appends[start].alongside {
                results.append(try writeIsolated(appends[start].events, alongside: alongside, in: db))
                start += 1
                continue
            }
            var end = start
            var rows: [EventCoding.Encoded] = []
            while end < appends.count, appends[end].alongside == nil {
                rows += appends[end].events
                end += 1
            }
            let events = try insert(rows, in: db)
            var offset = 0
            for append in appends[start..<end] {
                results.append(.success(Array(events[offset..<offset + append.events.count])))
                offset += append.events.count
            }
            start = end
        }
        return results
    }

    private static func writeIsolated(_ rows: [EventCoding.Encoded], alongside: EventLog.Alongside, in db: Database) throws -> Result<[Event], any Error> {
        var events: [Event] = []
        do {
            try db.inSavepoint {
                try alongside(db)
                events = try insert(rows, in: db)
                return .commit
            }
            return .success(events)
        } catch {
            // On some errors (a full disk, an I/O error) SQLite rolls the whole transaction back:
            // the batch's earlier rows are gone too, so the batch fails as a whole.
            guard db.isInsideTransaction else { throw error }
            return .failure(error)
        }
    }

    /// Inserts `rows` in order and returns them as committed events with their ids.
    private static func insert(_ rows: [EventCoding.Encoded], in db: Database) throws -> [Event] {
        // An `alongside` closure that swallowed the error of a rolled-back transaction would
        // otherwise let these rows commit on their own, outside the batch they are reported with.
        guard db.isInsideTransaction else { throw StoreError("the event batch's transaction ended before its events were written") }
        var events: [Event] = []
        events.reserveCapacity(rows.count)
        var next = rows.startIndex
        for size in chunkSizes {
            while rows.endIndex - next >= size {
                let chunk = rows[next..<next + size]
                let statement = try db.cachedStatement(sql: insertSQL[size]!)
                var values: [DatabaseValue] = []
                values.reserveCapacity(size * 5)
                for row in chunk {
                    values.append(row.draft.time.timeIntervalSince1970.databaseValue)
                    values.append(row.draft.type.rawValue.databaseValue)
                    values.append(row.draft.actor.databaseValue)
                    values.append(row.draft.session.databaseValue)
                    values.append(row.payload.databaseValue)
                }
                statement.setUncheckedArguments(StatementArguments(values))
                try statement.execute()
                // AUTOINCREMENT gives the rows of one statement consecutive ids, under the write
                // lock this connection holds, so the last one fixes them all.
                var id = db.lastInsertedRowID - Int64(size) + 1
                for row in chunk {
                    events.append(row.draft.committed(id: id))
                    id += 1
                }
                next += size
            }
        }
        return events
    }
}

import Foundation
import GRDB
import Synchronization

/// When a credential (an API token, a sign-in) was last used, written without making each use
/// wait for a commit of its own: the first use of a burst writes, and the uses that arrive while
/// it commits are written together after it, in one transaction each round.
///
/// Without this, 10,000 sockets reconnecting after a restart each waited, one after another, for
/// a transaction (and its fsync) that noted one credential's use.
final class UseNotes: Sendable {
    private struct State {
        var pending: [String: Double] = [:]
        var writing = false
    }
    private let state = Mutex(State())
    /// `UPDATE … SET <time column> = ? WHERE token_hash = ?`.
    let sql: String

    init(sql: String) { self.sql = sql }

    /// Notes that the credential stored as `hash` was used at `time`. The caller that finds
    /// nobody writing writes its batch (this use and any that gathered) before it returns, so its
    /// own use is stored; what gathers while it commits is written after it by a task of its own,
    /// so no one request keeps writing for a whole storm. The others return at once.
    func note(_ hash: String, at time: Double, in database: StoreDatabase) async throws {
        let writes = state.withLock { state in
            state.pending[hash] = time
            guard !state.writing else { return false }
            state.writing = true
            return true
        }
        guard writes, let batch = take() else { return }
        try await write(batch, to: database)
        if let more = take() {
            Task {
                var next: [String: Double]? = more
                while let batch = next {
                    // A failed write ends this turn; the next use starts another.
                    guard (try? await write(batch, to: database)) != nil else { return }
                    next = take()
                }
            }
        }
    }

    private func write(_ batch: [String: Double], to database: StoreDatabase) async throws {
        do {
            try await database.writer.write { [sql] db in
                let statement = try db.cachedStatement(sql: sql)
                for (hash, time) in batch { try statement.execute(arguments: [time, hash]) }
            }
        } catch {
            state.withLock { $0.writing = false }
            throw error
        }
    }

    /// The uses to write next, or nil (and the writer's turn ends) when none are left.
    private func take() -> [String: Double]? {
        state.withLock { state in
            guard !state.pending.isEmpty else {
                state.writing = false
                return nil
            }
            defer { state.pending = [:] }
            return state.pending
        }
    }
}

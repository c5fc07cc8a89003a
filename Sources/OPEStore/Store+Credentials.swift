import Foundation
import GRDB
import OPECore

extension Store {
    /// Records a failed password sign-in (the name as typed, and the address it came from).
    public func recordSignInFailure(username: String, address: String?) async throws {
        _ = try await events.append(EventDraft(type: .userSignInFailed, payload: SignInFailedPayload(username: username, address: address)))
    }

    /// Which of `credentials` still work at `now`: the sign-in or token exists (not ended or
    /// revoked, by this process or another on the same data dir), has not passed its end, and its
    /// account is not disabled. A sign-in's idle timeout is not checked here: an open socket is
    /// use, though it touches no request.
    public func stillValid(_ credentials: Set<Credential>, now: Date = Date()) async throws -> Set<Credential> {
        let absoluteTimeout = signIns.absoluteTimeout
        return try await database.writer.read { db in
            var valid: Set<Credential> = []
            let signIns = credentials.filter { $0.kind == .signIn }
            let tokens = credentials.filter { $0.kind == .token }
            // In chunks, well under SQLite's limit on bound parameters.
            for chunk in Array(signIns).chunked(500) {
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT s.token_hash, s.created_at FROM auth_sessions s JOIN users u ON u.username = s.username
                        WHERE u.disabled_at IS NULL AND s.token_hash IN (\(databaseQuestionMarks(count: chunk.count)))
                        """,
                    arguments: StatementArguments(chunk.map(\.hash))
                )
                let live = Set(rows.filter { now.timeIntervalSince1970 - ($0["created_at"] as Double) < absoluteTimeout }.map { $0["token_hash"] as String })
                valid.formUnion(chunk.filter { live.contains($0.hash) })
            }
            for chunk in Array(tokens).chunked(500) {
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT t.token_hash, t.expires_at FROM api_tokens t JOIN users u ON u.username = t.username
                        WHERE u.disabled_at IS NULL AND t.token_hash IN (\(databaseQuestionMarks(count: chunk.count)))
                        """,
                    arguments: StatementArguments(chunk.map(\.hash))
                )
                let live = Set(rows.filter { ($0["expires_at"] as Double?).map { $0 > now.timeIntervalSince1970 } ?? true }.map { $0["token_hash"] as String })
                valid.formUnion(chunk.filter { live.contains($0.hash) })
            }
            return valid
        }
    }
}

extension Array {
    fileprivate func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

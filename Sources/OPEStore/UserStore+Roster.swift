import Foundation
import OPECore

extension UserStore {
    /// What importing a roster did.
    public struct ImportResult: Sendable {
        /// New accounts with their generated passwords (shown once, to hand out).
        public var created: [(user: User, password: String)]
        /// Entries whose username was taken, left unchanged.
        public var existing: [Roster.Entry]
    }

    /// Creates an account with a generated password for every roster entry whose username is free;
    /// existing accounts are left alone and reported.
    public func importRoster(_ roster: Roster, actor: String) async throws -> ImportResult {
        var result = ImportResult(created: [], existing: [])
        for entry in roster.entries {
            let password = SecretToken.password()
            let user = User(username: entry.username, displayName: entry.displayName, role: entry.role)
            do {
                try await create(user, password: password, actor: actor)
                result.created.append((user, password))
            } catch UserStoreError.exists {
                result.existing.append(entry)
            }
        }
        return result
    }
}

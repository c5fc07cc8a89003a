import Foundation
import OPECore

extension UserStore {
    /// Creates an account with a generated password for every roster entry whose username is free;
    /// existing accounts are left alone and reported.
    public func importRoster(_ roster: Roster, actor: String) async throws -> Roster.ImportResult {
        var result = Roster.ImportResult(created: [], existing: [])
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

import Foundation
import HTTPTypes
import Logging
import OPECore
import OPEStore

/// What an admin may do to accounts, with every refusal as an ``APIError`` in words: shared by
/// the JSON API (`/api/users`) and the admin page (`/admin`), so both say the same things.
struct AccountAdmin {
    let accounts: any AccountDirectory
    let admin: Identity
    let logger: Logger

    static var roleNames: String { PlatformRole.allCases.map(\.rawValue).joined(separator: ", ") }

    static func role(_ text: String?, field: String = "role") throws -> PlatformRole? {
        guard let text else { return nil }
        guard let role = PlatformRole(rawValue: text.trimmingCharacters(in: .whitespaces).lowercased()) else {
            throw APIError(.badRequest, "unknown \(field) '\(text)': use one of \(roleNames)")
        }
        return role
    }

    /// Creates an account; without a password one is generated and returned (to be shown once).
    func create(username: String, displayName: String?, role: String?, password: String?) async throws -> (user: User, generatedPassword: String?) {
        let username = username.trimmingCharacters(in: .whitespaces)
        let displayName = displayName.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 } ?? username
        let password = password.flatMap { $0.isEmpty ? nil : $0 }
        let secret = password ?? SecretToken.password()
        let user = User(username: username, displayName: displayName, role: try Self.role(role) ?? .participant)
        do {
            try await accounts.createUser(user, password: secret, actor: admin.user.username)
        } catch {
            throw Self.refusal(error)
        }
        logger.info("account created", metadata: ["user": "\(admin.user.username)", "account": "\(username)", "role": "\(user.role)"])
        return (user, password == nil ? secret : nil)
    }

    /// Creates accounts from a roster CSV (`username, display name, role`); errors name the line.
    func importRoster(csv: String) async throws -> Roster.ImportResult {
        let roster: Roster
        do {
            roster = try Roster(csv: csv, file: "roster.csv")
        } catch {
            throw APIError(.badRequest, "\(error)")
        }
        guard !roster.entries.isEmpty else {
            throw APIError(.badRequest, "roster.csv: no accounts in the file (one line per account: username, display name, role)")
        }
        let result = try await accounts.importRoster(roster, actor: admin.user.username)
        logger.info(
            "roster imported", metadata: ["user": "\(admin.user.username)", "created": "\(result.created.count)", "existing": "\(result.existing.count)"])
        return result
    }

    /// Changes role, display name and/or whether the account is disabled.
    func update(username: String, role: String?, displayName: String?, disabled: Bool?) async throws -> User {
        let role = try Self.role(role)
        if disabled == true, username == admin.user.username {
            throw APIError(.conflict, "you cannot disable your own account; another admin can")
        }
        do {
            var user: User
            if role != nil || displayName != nil {
                user = try await accounts.updateUser(username, role: role, displayName: displayName, actor: admin.user.username)
            } else {
                guard let found = try await accounts.findUser(username) else { throw UserStoreError.notFound(username) }
                user = found
            }
            if let disabled { user = try await accounts.setDisabled(username, disabled, actor: admin.user.username) }
            logger.info(
                "account changed",
                metadata: ["user": "\(admin.user.username)", "account": "\(username)", "role": "\(user.role)", "disabled": "\(user.disabled)"]
            )
            return user
        } catch {
            throw Self.refusal(error)
        }
    }

    /// Sets a new password (generated when `password` is nil, and returned to be shown once); the
    /// account's sign-ins end.
    func resetPassword(username: String, password: String?) async throws -> String? {
        let password = password.flatMap { $0.isEmpty ? nil : $0 }
        let secret = password ?? SecretToken.password()
        do {
            try await accounts.setPassword(username, password: secret, actor: admin.user.username)
        } catch {
            throw Self.refusal(error)
        }
        logger.info("password reset", metadata: ["user": "\(admin.user.username)", "account": "\(username)"])
        return password == nil ? secret : nil
    }

    /// The directory's refusals as answers: taken → 409, unknown → 404, the last admin → 409, bad → 400.
    static func refusal(_ error: any Error) -> any Error {
        if let error = error as? UserStoreError {
            switch error {
            case .exists, .lastAdmin: return APIError(.conflict, error.description)
            case .notFound: return APIError(.notFound, error.description)
            case .invalid: return APIError(.badRequest, error.description)
            }
        }
        if let error = error as? UsernameError { return APIError(.badRequest, error.description) }
        return error
    }
}

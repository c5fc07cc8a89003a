import Foundation
import GRDB
import OPECore

/// Accounts: create, find, list, check passwords. Every change is an event committed with it.
public struct UserStore: Sendable {
    let database: StoreDatabase
    let events: EventLog
    let hasher: PasswordHasher

    public init(database: StoreDatabase, events: EventLog, hasher: PasswordHasher = .standard) {
        self.database = database
        self.events = events
        self.hasher = hasher
    }

    /// Creates an account. `actor` is who did it (a username, or `system`/`cli`). An account
    /// without a password cannot sign in with one; it is used through API tokens only.
    ///
    /// - Throws: ``UserStoreError/exists`` if the username is taken, ``UsernameError`` if it is invalid.
    @discardableResult
    public func create(_ user: User, password: String?, actor: String) async throws -> User {
        try User.validate(username: user.username)
        guard !user.displayName.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw UserStoreError.invalid("display name must not be empty") }
        if let password, password.count < 8 { throw UserStoreError.invalid("password must have at least 8 characters") }
        // "!" is no valid hash, so no password ever matches it.
        let hasher = self.hasher
        let hash: String
        if let password {
            hash = try await PasswordWork.run { try hasher.hash(password) }
        } else {
            hash = "!"
        }
        let draft = EventDraft(
            time: user.createdAt, type: .userCreated, actor: actor,
            payload: ["username": .string(user.username), "displayName": .string(user.displayName), "role": .string(user.role.rawValue)]
        )
        do {
            _ = try await events.append(draft) { db in
                try db.execute(
                    sql: "INSERT INTO users (username, display_name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [user.username, user.displayName, user.role.rawValue, hash, user.createdAt.timeIntervalSince1970]
                )
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            throw UserStoreError.exists(user.username)
        }
        return user
    }

    public func find(_ username: String) async throws -> User? {
        try await database.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM users WHERE username = ?", arguments: [username]).map(Self.user(row:))
        }
    }

    public func list() async throws -> [User] {
        try await database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM users ORDER BY username").map(Self.user(row:))
        }
    }

    public func count() async throws -> Int {
        try await database.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users") ?? 0 }
    }

    /// The user if `password` is theirs; nil otherwise. Takes as long for unknown users.
    public func authenticate(username: String, password: String) async throws -> User? {
        let found: (user: User, hash: String)? = try await database.writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM users WHERE username = ?", arguments: [username]) else { return nil }
            return (try Self.user(row: row), row["password_hash"])
        }
        // Unknown users are checked against a decoy, so the answer takes as long either way.
        let stored = found?.hash ?? PasswordHasher.decoy
        let matches = try await PasswordWork.run { PasswordHasher.verify(password, against: stored) }
        return matches ? found?.user : nil
    }

    static func user(row: Row) throws -> User {
        let roleText: String = row["role"]
        guard let role = PlatformRole(rawValue: roleText) else { throw StoreError("unknown role '\(roleText)' in the users table") }
        return User(username: row["username"], displayName: row["display_name"], role: role, createdAt: Date(timeIntervalSince1970: row["created_at"]))
    }
}

/// Why an account could not be created.
public enum UserStoreError: Error, Sendable, CustomStringConvertible, Equatable {
    case exists(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .exists(let username): "user '\(username)' already exists"
        case .invalid(let reason): reason
        }
    }
}

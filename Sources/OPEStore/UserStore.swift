import Foundation
import GRDB
import OPECore

/// Accounts: create, find, list, check passwords. Every change is an event committed with it.
public struct UserStore: Sendable {
    let database: StoreDatabase
    let events: EventLog
    let hasher: PasswordHasher
    let revocations: RevocationNotifier

    public init(database: StoreDatabase, events: EventLog, hasher: PasswordHasher = .standard, revocations: RevocationNotifier = RevocationNotifier()) {
        self.database = database
        self.events = events
        self.hasher = hasher
        self.revocations = revocations
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
            payload: UserPayload(username: user.username, displayName: user.displayName, role: user.role)
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

    /// The user if `password` is theirs and the account is not disabled; nil otherwise. Takes as
    /// long for unknown and disabled users.
    public func authenticate(username: String, password: String) async throws -> User? {
        let found: (user: User, hash: String)? = try await database.writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM users WHERE username = ?", arguments: [username]) else { return nil }
            return (try Self.user(row: row), row["password_hash"])
        }
        // Unknown users are checked against a decoy, so the answer takes as long either way.
        let stored = found?.hash ?? PasswordHasher.decoy
        let matches = try await PasswordWork.run { PasswordHasher.verify(password, against: stored) }
        guard matches, let user = found?.user, !user.disabled else { return nil }
        return user
    }

    /// Changes an account's role and/or display name.
    ///
    /// - Throws: ``UserStoreError/notFound(_:)``, ``UserStoreError/invalid(_:)`` for an empty
    ///   display name, ``UserStoreError/lastAdmin(_:)`` if it would leave no enabled admin.
    @discardableResult
    public func update(_ username: String, role: PlatformRole? = nil, displayName: String? = nil, actor: String, now: Date = Date()) async throws -> User {
        guard var user = try await find(username) else { throw UserStoreError.notFound(username) }
        if let displayName {
            let trimmed = displayName.trimmingCharacters(in: .whitespacesAndNewlines)
            guard (1...100).contains(trimmed.count) else { throw UserStoreError.invalid("display name must be 1 to 100 characters") }
            user.displayName = trimmed
        }
        let demoted = user.role == .admin && role != nil && role != .admin
        if let role { user.role = role }
        let draft = EventDraft(
            time: now, type: .userUpdated, actor: actor,
            payload: UserPayload(username: username, displayName: user.displayName, role: user.role)
        )
        let changed = user
        _ = try await events.append(draft) { db in
            if demoted { try Self.requireAnotherAdmin(than: username, db) }
            try db.execute(
                sql: "UPDATE users SET role = ?, display_name = ? WHERE username = ?", arguments: [changed.role.rawValue, changed.displayName, username]
            )
        }
        return user
    }

    /// Disables an account (it cannot sign in; its sign-ins end and its API tokens are refused at
    /// once, open connections included) or enables it again (its tokens work again, unless
    /// revoked or expired meanwhile; its sign-ins do not come back).
    ///
    /// - Throws: ``UserStoreError/notFound(_:)``, ``UserStoreError/lastAdmin(_:)`` if it would
    ///   leave no enabled admin.
    @discardableResult
    public func setDisabled(_ username: String, _ disabled: Bool, actor: String, now: Date = Date()) async throws -> User {
        guard var user = try await find(username) else { throw UserStoreError.notFound(username) }
        guard user.disabled != disabled else { return user }
        user.disabled = disabled
        let draft = EventDraft(time: now, type: disabled ? .userDisabled : .userEnabled, actor: actor, payload: AccountPayload(username: username))
        let isAdmin = user.role == .admin
        _ = try await events.append(draft) { db in
            if disabled {
                if isAdmin { try Self.requireAnotherAdmin(than: username, db) }
                try db.execute(sql: "DELETE FROM auth_sessions WHERE username = ?", arguments: [username])
            }
            try db.execute(sql: "UPDATE users SET disabled_at = ? WHERE username = ?", arguments: [disabled ? now.timeIntervalSince1970 : nil, username])
        }
        if disabled { revocations.publish(Revocation(username: username, scope: .account)) }
        return user
    }

    /// Sets a new password (an admin's reset); the account's browser sign-ins end with it, its
    /// API tokens stay.
    ///
    /// - Throws: ``UserStoreError/notFound(_:)``, ``UserStoreError/invalid(_:)`` for a short password.
    public func setPassword(_ username: String, password: String, actor: String, now: Date = Date()) async throws {
        guard try await find(username) != nil else { throw UserStoreError.notFound(username) }
        guard password.count >= 8 else { throw UserStoreError.invalid("password must have at least 8 characters") }
        let hasher = self.hasher
        let hash = try await PasswordWork.run { try hasher.hash(password) }
        _ = try await events.append(EventDraft(time: now, type: .userPasswordReset, actor: actor, payload: AccountPayload(username: username))) { db in
            try db.execute(sql: "UPDATE users SET password_hash = ? WHERE username = ?", arguments: [hash, username])
            try db.execute(sql: "DELETE FROM auth_sessions WHERE username = ?", arguments: [username])
        }
        revocations.publish(Revocation(username: username, scope: .allSignIns))
    }

    /// The stored password hash (`$scrypt$…`, or `!` for none).
    public func passwordHash(_ username: String) async throws -> String? {
        try await database.writer.read { db in try String.fetchOne(db, sql: "SELECT password_hash FROM users WHERE username = ?", arguments: [username]) }
    }

    /// Sets a password hash made elsewhere (an `OPEUser`'s Secret on Kubernetes); the account's
    /// browser sign-ins end with it. Only scrypt hashes as ``PasswordHasher`` writes them are taken.
    public func setPasswordHash(_ username: String, hash: String, actor: String, now: Date = Date()) async throws {
        guard hash.hasPrefix("$scrypt$"), hash.split(separator: "$").count == 4 else {
            throw UserStoreError.invalid("a password hash must be scrypt as `ope` writes it ($scrypt$ln=…,r=…,p=…$salt$key)")
        }
        guard try await find(username) != nil else { throw UserStoreError.notFound(username) }
        _ = try await events.append(EventDraft(time: now, type: .userPasswordReset, actor: actor, payload: AccountPayload(username: username))) { db in
            try db.execute(sql: "UPDATE users SET password_hash = ? WHERE username = ?", arguments: [hash, username])
            try db.execute(sql: "DELETE FROM auth_sessions WHERE username = ?", arguments: [username])
        }
        revocations.publish(Revocation(username: username, scope: .allSignIns))
    }

    /// Throws ``UserStoreError/lastAdmin(_:)`` unless an enabled admin other than `username` exists
    /// (checked inside the transaction that would remove the last one).
    static func requireAnotherAdmin(than username: String, _ db: Database) throws {
        let others =
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL AND username != ?", arguments: [username]) ?? 0
        guard others > 0 else { throw UserStoreError.lastAdmin(username) }
    }

    static func user(row: Row) throws -> User {
        let roleText: String = row["role"]
        guard let role = PlatformRole(rawValue: roleText) else { throw StoreError("unknown role '\(roleText)' in the users table") }
        let disabledAt: Double? = row["disabled_at"]
        return User(
            username: row["username"], displayName: row["display_name"], role: role, createdAt: Date(timeIntervalSince1970: row["created_at"]),
            disabled: disabledAt != nil
        )
    }
}

/// Why an account could not be created or changed. `Codable` so that an edge re-throws the very
/// refusal the directory core threw.
public enum UserStoreError: Error, Sendable, CustomStringConvertible, Equatable, Codable {
    case exists(String)
    case invalid(String)
    case notFound(String)
    /// The change would leave no enabled admin.
    case lastAdmin(String)

    public var description: String {
        switch self {
        case .exists(let username): "user '\(username)' already exists"
        case .invalid(let reason): reason
        case .notFound(let username): "no user '\(username)'"
        case .lastAdmin(let username): "'\(username)' is the last admin: make another account admin first, so that someone can still manage the platform"
        }
    }
}

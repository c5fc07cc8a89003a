import Foundation

/// Everything OPE keeps in its data dir, opened once per process.
public struct Store: Sendable {
    public let database: StoreDatabase
    public let events: EventLog
    public let reader: EventReader
    public let users: UserStore
    public let sessions: AuthSessionStore
    public let tokens: APITokenStore
    public let externalBotCursors: ExternalBotCursors
    public let dataDirectory: String

    /// Opens the store in `dataDirectory`, creating it if needed.
    ///
    /// - Parameter hasher: password hashing cost; tests lower it, production keeps ``PasswordHasher/standard``.
    public init(dataDirectory: String, hasher: PasswordHasher = .standard) throws {
        let absolute = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        self.dataDirectory = absolute
        database = try StoreDatabase(dataDirectory: absolute)
        events = EventLog(database: database)
        reader = EventReader(database: database)
        users = UserStore(database: database, events: events, hasher: hasher)
        sessions = AuthSessionStore(database: database, events: events)
        tokens = APITokenStore(database: database, events: events)
        externalBotCursors = ExternalBotCursors(database: database)
    }
}

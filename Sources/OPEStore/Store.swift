import Foundation

/// Everything OPE keeps in its data dir, opened once per process.
public struct Store: Sendable {
    public let database: StoreDatabase
    public let events: EventLog
    public let reader: EventReader
    public let users: UserStore
    public let signIns: SignInStore
    public let tokens: APITokenStore
    public let externalBotCursors: ExternalBotCursors
    /// Where the stores announce ended sign-ins, revoked tokens and disabled accounts.
    public let revocations: RevocationNotifier
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
        let revocations = RevocationNotifier()
        self.revocations = revocations
        users = UserStore(database: database, events: events, hasher: hasher, revocations: revocations)
        signIns = SignInStore(database: database, events: events, revocations: revocations)
        tokens = APITokenStore(database: database, events: events, revocations: revocations)
        externalBotCursors = ExternalBotCursors(database: database)
    }
}

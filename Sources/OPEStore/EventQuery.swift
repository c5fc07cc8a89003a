import Foundation
import GRDB
import OPECore

/// Which events to read or export.
public struct EventFilter: Sendable, Hashable, Codable {
    /// Only events with an id above this one (for replay from a known position).
    public var afterID: Int64?
    public var session: String?
    /// Only events at or after this time.
    public var since: Date?
    /// Only events before this time.
    public var until: Date?
    /// Only events of sessions on this module.
    public var module: String?
    /// Only events of these types.
    public var types: [EventType]?
    /// Only events with an id at or below this one.
    public var upToID: Int64?

    public init(
        afterID: Int64? = nil, session: String? = nil, since: Date? = nil, until: Date? = nil, module: String? = nil, types: [EventType]? = nil,
        upToID: Int64? = nil
    ) {
        self.types = types
        self.upToID = upToID
        self.afterID = afterID
        self.session = session
        self.since = since
        self.until = until
        self.module = module
    }
}

/// Reads events back from the log in id order.
public struct EventReader: Sendable {
    let database: StoreDatabase

    public init(database: StoreDatabase) { self.database = database }

    /// Up to `limit` events matching `filter`, oldest first.
    public func events(_ filter: EventFilter, limit: Int = 1000) async throws -> [Event] {
        try await database.writer.read { db in try Self.fetch(db, filter, limit: limit) }
    }

    /// Every event matching `filter`, handed to `body` in pages so an export never holds the whole log.
    public func forEach(_ filter: EventFilter, pageSize: Int = 2000, _ body: ([Event]) async throws -> Void) async throws {
        var cursor = filter
        while true {
            let page = try await database.writer.read { [cursor] db in try Self.fetch(db, cursor, limit: pageSize) }
            if page.isEmpty { return }
            try await body(page)
            cursor.afterID = page.last!.id
            if page.count < pageSize { return }
        }
    }

    /// Number of events in the log.
    public func count() async throws -> Int {
        try await database.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events") ?? 0 }
    }

    /// The newest `limit` events matching `filter`, newest first (the dashboard's "last activity").
    public func latest(_ filter: EventFilter, limit: Int = 1) async throws -> [Event] {
        try await database.writer.read { db in try Self.fetch(db, filter, limit: limit, newestFirst: true) }
    }

    static func fetch(_ db: Database, _ filter: EventFilter, limit: Int, newestFirst: Bool = false) throws -> [Event] {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let afterID = filter.afterID {
            clauses.append("id > ?")
            _ = arguments.append(contentsOf: [afterID])
        }
        if let upToID = filter.upToID {
            clauses.append("id <= ?")
            _ = arguments.append(contentsOf: [upToID])
        }
        if let session = filter.session {
            clauses.append("session = ?")
            _ = arguments.append(contentsOf: [session])
        }
        if let since = filter.since {
            clauses.append("time >= ?")
            _ = arguments.append(contentsOf: [since.timeIntervalSince1970])
        }
        if let until = filter.until {
            clauses.append("time < ?")
            _ = arguments.append(contentsOf: [until.timeIntervalSince1970])
        }
        if let module = filter.module {
            // A session belongs to a module through the event that formed it.
            clauses.append(
                "session IN (SELECT session FROM events WHERE type = ? AND json_extract(payload, '$.module') = ?)"
            )
            _ = arguments.append(contentsOf: [EventType.sessionFormed.rawValue, module])
        }
        if let types = filter.types {
            clauses.append("type IN (\(types.map { _ in "?" }.joined(separator: ",")))")
            _ = arguments.append(contentsOf: StatementArguments(types.map(\.rawValue)))
        }
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        // Cached per connection: a room's history and the pages of an export ask the same few
        // shapes again and again.
        // The limit is an argument too, so each filter's shape is one statement whatever the page size.
        _ = arguments.append(contentsOf: [limit])
        let statement = try db.cachedStatement(sql: "SELECT * FROM events \(whereClause) ORDER BY id \(newestFirst ? "DESC" : "") LIMIT ?")
        let rows = try Row.fetchAll(statement, arguments: arguments)
        return try rows.map(EventCoding.event(row:))
    }
}

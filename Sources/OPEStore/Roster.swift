import Foundation
import OPECore

/// A class list an instructor exports from their course system: `username, display name, role`.
///
/// A header row is optional (recognised by `username` in its first cell); role may be empty
/// (participant). Problems are reported with their line number.
public struct Roster: Sendable {
    public struct Entry: Sendable, Hashable {
        public var line: Int
        public var username: String
        public var displayName: String
        public var role: PlatformRole

        public init(line: Int, username: String, displayName: String, role: PlatformRole) {
            self.line = line
            self.username = username
            self.displayName = displayName
            self.role = role
        }
    }

    /// What importing a roster did. Beside the roster rather than the SQLite store, because
    /// whichever ``AccountDirectory`` does the import answers with it.
    public struct ImportResult: Sendable {
        /// New accounts with their generated passwords (shown once, to hand out).
        public var created: [(user: User, password: String)]
        /// Entries whose username was taken, left unchanged.
        public var existing: [Entry]

        public init(created: [(user: User, password: String)], existing: [Entry]) {
            self.created = created
            self.existing = existing
        }
    }

    public var entries: [Entry]

    /// A roster already read (another process parsed the CSV and reported its problems).
    public init(entries: [Entry]) {
        self.entries = entries
    }

    public init(csv text: String, file: String) throws {
        var entries: [Entry] = []
        var seen: Set<String> = []
        for (line, cells) in try CSVRows.read(text, file: file) {
            let username = try CSVRows.username(cells, line: line, file: file)
            guard seen.insert(username).inserted else { throw StoreError("\(file):\(line): user '\(username)' is listed twice") }
            let displayName = cells.count > 1 && !cells[1].isEmpty ? cells[1] : username
            let roleText = cells.count > 2 ? cells[2].lowercased() : ""
            guard let role = roleText.isEmpty ? .participant : PlatformRole(rawValue: roleText) else {
                throw StoreError("\(file):\(line): unknown role '\(roleText)' (participant, instructor or admin)")
            }
            entries.append(Entry(line: line, username: username, displayName: displayName, role: role))
        }
        self.entries = entries
    }
}

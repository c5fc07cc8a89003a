import Foundation
import OPECore

/// Fixed groups for a module in static mode, as an instructor uploads them: `username, group`.
/// A header row is optional; problems name their line.
public struct GroupRoster: Sendable {
    /// Group name → members in file order.
    public var groups: [String: [String]]
    /// Group names in the order they first appear.
    public var order: [String]

    public init(csv text: String, file: String = "groups.csv") throws {
        var groups: [String: [String]] = [:]
        var order: [String] = []
        var seen: [String: Int] = [:]
        for (line, cells) in try CSVRows.read(text, file: file) {
            let username = try CSVRows.username(cells, line: line, file: file)
            guard cells.count > 1, !cells[1].isEmpty else { throw StoreError("\(file):\(line): no group for '\(username)'") }
            if let earlier = seen[username] { throw StoreError("\(file):\(line): '\(username)' is already in a group on line \(earlier)") }
            seen[username] = line
            let group = cells[1]
            if groups[group] == nil { order.append(group) }
            groups[group, default: []].append(username)
        }
        guard !groups.isEmpty else { throw StoreError("\(file): no groups in the file") }
        self.groups = groups
        self.order = order
    }
}

import Foundation
import OPECore
import SwiftCSV

/// Fixed groups for a module in static mode, as an instructor uploads them: `username, group`.
/// A header row is optional; problems name their line.
public struct GroupRoster: Sendable {
    /// Group name → members in file order.
    public var groups: [String: [String]]
    /// Group names in the order they first appear.
    public var order: [String]

    public init(csv text: String, file: String = "groups.csv") throws {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        let firstCell = lines.first.map { $0.split(separator: ",").first.map(String.init) ?? "" } ?? ""
        let hasHeader = firstCell.trimmingCharacters(in: .whitespaces.union(.init(charactersIn: "\""))).lowercased() == "username"
        let source = hasHeader ? text : "username,group\n" + text
        let table: CSV<Enumerated>
        do {
            table = try CSV<Enumerated>(string: source, delimiter: .comma, loadColumns: false)
        } catch {
            throw StoreError("\(file): not a readable CSV file: \(error)")
        }
        var groups: [String: [String]] = [:]
        var order: [String] = []
        var seen: [String: Int] = [:]
        for (index, row) in table.rows.enumerated() {
            let line = index + 2 - (hasHeader ? 0 : 1)
            let cells = row.map { $0.trimmingCharacters(in: .whitespaces) }
            if cells.allSatisfy(\.isEmpty) { continue }
            let username = cells[0].lowercased()
            do {
                try User.validate(username: username)
            } catch {
                throw StoreError("\(file):\(line): \(error.description)")
            }
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

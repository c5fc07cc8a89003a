import Foundation
import OPECore
import SwiftCSV

/// The rows of a small CSV file an instructor uploads (rosters, groups), with the line number of
/// each row for error messages. A header row is optional: it is recognised by `username` in its
/// first cell and skipped. Blank rows are left out.
enum CSVRows {
    static func read(_ text: String, file: String) throws -> [(line: Int, cells: [String])] {
        let firstLine = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).first ?? ""
        let firstCell = firstLine.split(separator: ",").first.map(String.init) ?? ""
        let hasHeader = firstCell.trimmingCharacters(in: .whitespaces.union(.init(charactersIn: "\""))).lowercased() == "username"
        // SwiftCSV always takes the first row as the header; give it one when the file has none.
        let source = hasHeader ? text : "username\n" + text
        let table: CSV<Enumerated>
        do {
            table = try CSV<Enumerated>(string: source, delimiter: .comma, loadColumns: false)
        } catch {
            throw StoreError("\(file): not a readable CSV file: \(error)")
        }
        return table.rows.enumerated().compactMap { index, row in
            let cells = row.map { $0.trimmingCharacters(in: .whitespaces) }
            return cells.allSatisfy(\.isEmpty) ? nil : (line: index + 2 - (hasHeader ? 0 : 1), cells: cells)
        }
    }

    /// The username in the first cell, lowercased and checked; errors name the line.
    static func username(_ cells: [String], line: Int, file: String) throws -> String {
        let username = cells[0].lowercased()
        do {
            try User.validate(username: username)
        } catch {
            throw StoreError("\(file):\(line): \(error.description)")
        }
        return username
    }
}

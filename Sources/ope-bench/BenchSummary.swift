import ArgumentParser
import Foundation
import OPECLI

/// One row of `make bench`'s table: a figure of OPE's beside its baseline from the same run, and
/// the target it is held to.
struct BenchRow: Codable, Sendable {
    var measure: String
    var ours: String
    var baseline: String
    var target: String
    /// Whether the target is met; nil when the row has no pass/fail (a figure to read).
    var met: Bool?
}

/// The file the benchmarks append their rows to (`--summary`), one JSON object a line, so that
/// separate `ope-bench` runs make one table.
enum BenchSummary {
    static func append(_ rows: [BenchRow], to file: String?) throws {
        guard let file, !rows.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let lines = try rows.map { String(decoding: try encoder.encode($0), as: UTF8.self) + "\n" }.joined()
        if !FileManager.default.fileExists(atPath: file) { FileManager.default.createFile(atPath: file, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: file) else { throw CLIError("cannot write the summary file \(file)") }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(lines.utf8))
    }

    static func read(_ file: String) throws -> [BenchRow] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw CLIError("no summary file at \(file)") }
        let decoder = JSONDecoder()
        return try text.split(separator: "\n").enumerated().map { index, line in
            do { return try decoder.decode(BenchRow.self, from: Data(line.utf8)) } catch {
                throw CLIError("\(file):\(index + 1): not a benchmark row: \(error)")
            }
        }
    }

    /// The rows as an aligned text table.
    static func table(_ rows: [BenchRow]) -> String {
        let header = ["measure", "OPE", "baseline, same run", "target", ""]
        let cells = rows.map { row in
            [row.measure, row.ours, row.baseline, row.target, row.met.map { $0 ? "met" : "MISSED" } ?? ""]
        }
        let widths = header.indices.map { column in ([header] + cells).map { $0[column].count }.max()! }
        return ([header] + cells).map { line in
            line.enumerated().map { column, cell in cell + String(repeating: " ", count: widths[column] - cell.count) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}

/// `ope-bench table FILE`: the one table of every row the benchmarks appended to FILE.
struct TableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table",
        abstract: "Print the rows benchmarks appended to a summary file (their --summary) as one table.")
    @Argument(help: "The summary file.") var file: String

    func run() throws {
        let rows = try BenchSummary.read(file)
        print("")
        print("=== make bench: every figure beside its baseline from the same run ===")
        print(BenchSummary.table(rows))
        let missed = rows.filter { $0.met == false }.count
        print(missed == 0 ? "every target met" : "\(missed) of \(rows.filter { $0.met != nil }.count) targets missed")
    }
}

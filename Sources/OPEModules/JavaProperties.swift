import Foundation

/// Reads a Java `.properties` file (Bazaar's configuration): `key=value` or `key: value` lines,
/// `#`/`!` comments, and values continued on the next line by a trailing backslash.
///
/// Written by hand: none of the allowed packages reads this format, and Bazaar's files use only
/// these rules (no unicode escapes).
struct JavaProperties {
    var values: [String: String] = [:]
    /// Line of each key, for messages.
    var lines: [String: Int] = [:]
    let file: String

    init(file: String) throws(ModuleError) {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ModuleError(file: file, message: "cannot read the file: \(error.localizedDescription)")
        }
        self.init(text: text, file: file)
    }

    init(text: String, file: String) {
        self.file = file
        var pending = ""
        var pendingLine = 0
        // Split on "\n" only: Bazaar's files use CRLF, and "\r\n" must not read as two line ends.
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if pending.isEmpty, line.isEmpty || line.hasPrefix("#") || line.hasPrefix("!") { continue }
            if pending.isEmpty { pendingLine = index + 1 }
            if line.hasSuffix("\\"), !line.hasSuffix("\\\\") {
                pending += String(line.dropLast())
                continue
            }
            let entry = pending + line
            pending = ""
            guard let separator = entry.firstIndex(where: { $0 == "=" || $0 == ":" }) else { continue }
            let key = entry[..<separator].trimmingCharacters(in: .whitespaces)
            let value = entry[entry.index(after: separator)...].trimmingCharacters(in: .whitespaces)
            values[key] = value
            lines[key] = pendingLine
        }
    }

    subscript(key: String) -> String? { values[key] }

    func error(_ key: String, _ message: String) -> ModuleError {
        ModuleError(file: file, line: lines[key], field: key, message: message)
    }

    func int(_ key: String) throws(ModuleError) -> Int? {
        guard let raw = values[key] else { return nil }
        guard let value = Int(raw) else { throw error(key, "expected a whole number, got '\(raw)'") }
        return value
    }

    func bool(_ key: String) throws(ModuleError) -> Bool? {
        guard let raw = values[key] else { return nil }
        switch raw.lowercased() {
        case "true": return true
        case "false": return false
        default: throw error(key, "expected true or false, got '\(raw)'")
        }
    }

    func list(_ key: String) -> [String]? {
        values[key].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }
}

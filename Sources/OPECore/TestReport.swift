import Foundation

/// What a task's test run found, test by test: the page shows this instead of asking students to
/// read pytest's whole output (which stays one click away).
///
/// Read from pytest's short summary (`-r fEsxXp` prints one line per test: `FAILED path::name -
/// message`). A command that is not pytest gives no cases, and the page shows its output.
public struct TestReport: Sendable, Hashable, Codable {
    public enum Outcome: String, Sendable, Hashable, Codable {
        case passed, failed, error, skipped, xfailed, xpassed

        /// Whether this outcome makes the run fail.
        public var isProblem: Bool { self == .failed || self == .error }
    }

    public struct Case: Sendable, Hashable, Codable {
        /// The test's name without its file (`test_tokenize[Hello-expected0]`).
        public var name: String
        public var outcome: Outcome
        /// For a failure, its first line (`AssertionError: assert 3 == 2`); for a skip, the reason.
        public var message: String?

        public init(name: String, outcome: Outcome, message: String? = nil) {
            self.name = name
            self.outcome = outcome
            self.message = message
        }
    }

    public var cases: [Case]

    public init(cases: [Case]) {
        self.cases = cases
    }

    /// The pytest options that make a run reportable; `PYTEST_ADDOPTS` carries them.
    public static let pytestOptions = "-rfEsxXp"

    /// The cases in pytest's short test summary in `output` (none if there is no such summary).
    public init(pytestOutput output: String) {
        var cases: [Case] = []
        var inSummary = false
        for raw in output.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if line.hasPrefix("=") {
                inSummary = line.contains("short test summary info")
                continue
            }
            guard inSummary, let space = line.firstIndex(of: " ") else { continue }
            let word = line[..<space]
            let outcome: Outcome
            switch word {
            case "PASSED": outcome = .passed
            case "FAILED": outcome = .failed
            case "ERROR": outcome = .error
            case "SKIPPED": outcome = .skipped
            case "XFAIL": outcome = .xfailed
            case "XPASS": outcome = .xpassed
            default: continue
            }
            let rest = String(line[line.index(after: space)...])
            if outcome == .skipped {
                // `SKIPPED [1] tests/test_x.py:12: reason`
                let reason = rest.split(separator: ": ", maxSplits: 1).dropFirst().first.map(String.init)
                var location = rest.split(separator: ": ", maxSplits: 1).first.map(String.init) ?? rest
                if location.hasPrefix("["), let close = location.firstIndex(of: "]") {
                    location = String(location[location.index(after: close)...]).trimmingCharacters(in: .whitespaces)
                }
                cases.append(Case(name: Self.shortName(location), outcome: outcome, message: reason))
                continue
            }
            let (id, message) = Self.split(rest)
            cases.append(Case(name: Self.shortName(id), outcome: outcome, message: message))
        }
        self.cases = cases
    }

    /// `path::name[params] - message`: parameters may hold " - " themselves, so the name ends at
    /// the first "] - " when it has parameters.
    static func split(_ text: String) -> (String, String?) {
        let separator: String
        let offset: Int
        if let colons = text.range(of: "::"), text[colons.upperBound...].contains("["), text.contains("] - ") {
            separator = "] - "
            offset = 1
        } else {
            separator = " - "
            offset = 0
        }
        guard let range = text.range(of: separator) else { return (text, nil) }
        let end = text.index(range.lowerBound, offsetBy: offset)
        let message = String(text[range.upperBound...]).trimmingCharacters(in: .whitespaces)
        return (String(text[..<end]), message.isEmpty ? nil : message)
    }

    /// `tests/test_x.py::TestA::test_b[1]` → `TestA::test_b[1]`.
    static func shortName(_ id: String) -> String {
        guard let colons = id.range(of: "::") else { return id }
        return String(id[colons.upperBound...])
    }

    public var failures: [Case] { cases.filter(\.outcome.isProblem) }
    public var passedCount: Int { cases.filter { $0.outcome == .passed || $0.outcome == .xpassed }.count }

    /// As JSON, the form event payloads and room messages hold: `[{name, outcome, message}]`.
    public var json: JSONValue {
        // Cases are plain strings and enums: encoding them cannot fail.
        (try? JSONValueEncoder().encode(cases)) ?? .array([])
    }

    /// Read back from ``json`` (cases that do not parse are left out).
    public init(json: JSONValue?) {
        guard case .array(let list)? = json else {
            self.cases = []
            return
        }
        self.cases = list.compactMap { try? JSONValueDecoder().decode(Case.self, from: $0) }
    }
}

extension TestReport {
    /// Output kept per run: its first part (the first failures' tracebacks) and its last (the summary).
    public static let outputHead = 6000
    public static let outputTail = 10000

    /// `output`, or its head and tail with a line saying what was left out between them.
    public static func excerpt(_ output: String) -> String {
        guard output.count > outputHead + outputTail else { return output }
        let left = output.count - outputHead - outputTail
        return String(output.prefix(outputHead)) + "\n\n… (\(left) characters of output left out) …\n\n" + String(output.suffix(outputTail))
    }

    /// What a run that hit its time limit adds to its output, for the team.
    public static func timedOutNote(seconds: Int) -> String {
        "\n[OPE] the tests did not finish within \(seconds) s and were stopped. "
            + "The usual causes: code that waits for input, an endless loop, or a test that waits for something that never comes."
    }
}

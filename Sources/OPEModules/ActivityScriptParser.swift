import Foundation
import OPECore
import Yams

/// Reads a scripted activity file for `ope plan simulate --activity` (format in
/// `docs/bot-plans.md`): a YAML list of timed member actions, or the same objects one per line as
/// JSON Lines (`.jsonl`). Every problem is reported with file, line and field, all at once.
public struct ActivityScriptParser: Sendable {
    public init() {}

    static let actions = ["join", "leave", "chat", "edit", "execute", "roles", "tests"]
    /// The fields each action reads beside `at` and itself.
    static let actionFields: [String: Set<String>] = [
        "join": [], "leave": [], "chat": ["text"], "edit": ["updates"], "execute": ["outcome", "error", "value", "cell"], "roles": [],
        "tests": ["passed"],
    ]
    static let outcomes = ["ok", "error", "aborted", "refused"]

    public func parse(file: String) throws(PlanError) -> ActivityScript {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw PlanError([ModuleError(file: file, message: "cannot read the activity file: \(error.localizedDescription)")])
        }
        return try parse(text: text, file: file)
    }

    /// JSON Lines when the file's name ends in `.jsonl`, YAML otherwise.
    public func parse(text: String, file: String) throws(PlanError) -> ActivityScript {
        var entries: [ActivityScript.Entry] = []
        var problems: [ModuleError] = []
        if file.hasSuffix(".jsonl") {
            for (index, line) in text.components(separatedBy: "\n").enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !trimmed.isEmpty else { continue }
                do {
                    // JSON is YAML: one flow mapping a line, located by the line's number.
                    guard let node = try Yams.compose(yaml: trimmed) else { continue }
                    var parsed = try entry(YAMLField(node: node, path: "", file: file))
                    parsed.location.line = index + 1
                    entries.append(parsed)
                } catch var error as ModuleError {
                    error.line = index + 1
                    problems.append(error)
                } catch let error as YamlError {
                    var problem = ModuleParser.syntaxError(error, file: file)
                    problem.line = index + 1
                    problems.append(problem)
                } catch {
                    problems.append(ModuleError(file: file, line: index + 1, message: "\(error)"))
                }
            }
        } else {
            do {
                guard let root = try Yams.compose(yaml: text) else { return ActivityScript(entries: []) }
                for element in try YAMLField(node: root, path: "", file: file).sequence() {
                    do throws(ModuleError) {
                        entries.append(try entry(element))
                    } catch {
                        problems.append(error)
                    }
                }
            } catch let error as YamlError {
                problems.append(ModuleParser.syntaxError(error, file: file))
            } catch let error as ModuleError {
                problems.append(error)
            } catch {
                problems.append(ModuleError(file: file, message: "\(error)"))
            }
        }
        guard problems.isEmpty else { throw PlanError(problems) }
        return ActivityScript(entries: entries)
    }

    /// `{at: 5m, chat: Ann, text: "hi"}` and the like.
    func entry(_ field: YAMLField) throws(ModuleError) -> ActivityScript.Entry {
        let allowed = Self.actionFields.values.reduce(Set(["at"] + Self.actions)) { $0.union($1) }
        let fields = try field.mapping(allowed: allowed)
        let named = Self.actions.filter { fields[$0] != nil }
        guard named.count == 1 else {
            if named.isEmpty { throw field.error("an entry needs one action: \(Self.actions.joined(separator: ", "))") }
            throw field.error("an entry does one thing; this one has \(named.joined(separator: " and "))")
        }
        let kind = named[0]
        let own = Self.actionFields[kind] ?? []
        if let stray = fields.keys.sorted().first(where: { $0 != "at" && $0 != kind && !own.contains($0) }) {
            throw fields[stray]!.error("does not apply to '\(kind)' (its fields: \(own.isEmpty ? "none" : own.sorted().joined(separator: ", ")))")
        }
        let time = try PlanParser.seconds(ModuleParser.required(fields, "at", in: field))
        let value = fields[kind]!
        let action: ActivityScript.Action
        switch kind {
        case "join": action = .join(try value.nonEmptyString())
        case "leave": action = .leave(try value.nonEmptyString())
        case "chat": action = .chat(try value.nonEmptyString(), text: try ModuleParser.required(fields, "text", in: field).string())
        case "edit":
            let updates = try fields["updates"]?.int() ?? 1
            guard updates >= 1 else { throw fields["updates"]!.error("at least 1") }
            action = .edit(try value.nonEmptyString(), updates: updates)
        case "execute":
            let errorName = try fields["error"]?.nonEmptyString()
            let outcome = try fields["outcome"]?.string() ?? (errorName == nil ? "ok" : "error")
            guard Self.outcomes.contains(outcome) else {
                throw fields["outcome"]!.error("unknown outcome '\(outcome)' (expected one of: \(Self.outcomes.joined(separator: ", ")))")
            }
            if outcome == "error", errorName == nil { throw field.error("an execute with outcome error needs error: NAME (e.g. NameError)") }
            action = .execute(
                try value.nonEmptyString(), outcome: outcome, errorName: errorName, errorValue: try fields["value"]?.string(),
                cell: try fields["cell"]?.nonEmptyString())
        case "roles":
            guard case .mapping(let mapping) = value.node, !mapping.isEmpty else { throw value.error("expected member: role pairs, e.g. {Ann: Driver}") }
            var roles: [String: String] = [:]
            for (key, role) in mapping {
                guard let member = key.string, !member.isEmpty else { throw value.error("member names must be text") }
                roles[member] = try YAMLField(node: role, path: "\(value.path).\(member)", file: value.file).nonEmptyString()
            }
            action = .roles(roles)
        default:
            let passed = try ModuleParser.required(fields, "passed", in: field).bool()
            action = .tests(task: try value.nonEmptyString(), passed: passed)
        }
        return ActivityScript.Entry(time: time, action: action, location: PlanLocation(file: field.file, line: field.node.mark?.line))
    }
}

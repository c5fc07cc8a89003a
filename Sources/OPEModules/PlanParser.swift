import Foundation
import OPECore
import Yams

/// Reads a native YAML bot plan (format in `docs/bot-plans.md`). Texts written inline in steps
/// become prompts with generated ids (`<stage>.<step>`), so both formats run the same way.
public struct PlanParser: Sendable {
    public init() {}

    static let topFields: Set<String> = ["name", "bot", "readingSpeed", "launch", "roles", "defaultRole", "externalURL", "prompts", "stages", "triggers"]
    static let stepActions: [String] = [
        "say", "prompt", "greet", "assignRoles", "rotateRoles", "gate", "command", "run", "external", "log", "postChatLog", "end", "logout",
    ]
    static let stepFields = Set(stepActions + ["name", "delay", "timeout", "role", "when"])

    public func parse(file: String) throws(PlanError) -> BotPlan {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw PlanError([ModuleError(file: file, message: "cannot read the file: \(error.localizedDescription)")])
        }
        do {
            return try parse(yaml: text, file: file)
        } catch let error as PlanError {
            throw error
        } catch let error as ModuleError {
            throw PlanError([error])
        } catch {
            throw PlanError([ModuleError(file: file, message: "\(error)")])
        }
    }

    /// Builds the plan; one problem per step is collected, so an author sees them all.
    public func parse(yaml text: String, file: String) throws -> BotPlan {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw ModuleError(file: file, message: "the file is empty") }
            root = node
        } catch let error as YamlError {
            throw ModuleParser.syntaxError(error, file: file)
        }
        let top = YAMLField(node: root, path: "", file: file)
        let fields = try top.mapping(allowed: Self.topFields)
        var builder = Builder(file: file)
        let name = try ModuleParser.required(fields, "name", in: top).nonEmptyString()
        var settings = BotPlan.Settings()
        if let field = fields["bot"] { settings.botName = try field.nonEmptyString() }
        if let field = fields["readingSpeed"] {
            let value = try field.int()
            guard value >= 0 else { throw field.error("words per minute, 0 or more (0: no reading pauses)") }
            settings.wordsPerMinute = Double(value)
        }
        if let field = fields["launch"] {
            let launch = try field.mapping(allowed: ["members", "timeout"])
            if let members = launch["members"] {
                if (try? members.string()) == "all" {
                    settings.launchMembers = nil
                } else {
                    let count = try members.int()
                    guard count >= 1 else { throw members.error("at least 1, or \"all\"") }
                    settings.launchMembers = count
                }
            }
            if let timeout = launch["timeout"] { settings.launchTimeout = try Self.seconds(timeout) }
        }
        if let field = fields["roles"] {
            settings.roles = try ModuleParser.roles(field)
            settings.defaultRole = settings.roles.last!
        }
        if let field = fields["defaultRole"] {
            let role = try field.nonEmptyString()
            guard settings.roles.contains(role) else { throw field.error("'\(role)' is not one of the roles (\(settings.roles.joined(separator: ", ")))") }
            settings.defaultRole = role
        }
        if let field = fields["externalURL"] {
            let url = try field.nonEmptyString()
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw field.error("expected an http:// or https:// URL") }
            settings.externalURL = url
        }
        if let field = fields["prompts"] {
            guard case .mapping(let mapping) = field.node else { throw field.error("expected a mapping of prompt id → text (or list of texts)") }
            for (key, value) in mapping {
                guard let id = key.string else { throw YAMLField(node: key, path: "prompts", file: file).error("prompt ids must be text") }
                builder.prompts[id] = try Self.texts(YAMLField(node: value, path: "prompts.\(id)", file: file))
            }
        }
        let stagesField = try ModuleParser.required(fields, "stages", in: top)
        var stages: [BotPlan.Stage] = []
        var problems: [ModuleError] = []
        for (stageNumber, stageField) in try stagesField.sequence().enumerated() {
            do throws(PlanError) {
                stages.append(try builder.stage(stageField, number: stageNumber + 1))
            } catch {
                problems += error.problems
            }
        }
        if stages.isEmpty, problems.isEmpty { problems.append(stagesField.error("a plan needs at least one stage")) }
        var triggers: [BotPlan.Trigger] = []
        if let field = fields["triggers"] {
            for (index, element) in try field.sequence().enumerated() {
                do throws(ModuleError) {
                    triggers.append(try builder.trigger(element, number: index + 1))
                } catch {
                    problems.append(error)
                }
            }
        }
        problems += builder.missingPrompts()
        guard problems.isEmpty else { throw PlanError(problems) }
        return BotPlan(name: name, format: .native, source: file, settings: settings, stages: stages, prompts: builder.prompts, triggers: triggers)
    }

    static func seconds(_ field: YAMLField) throws(ModuleError) -> Double {
        if case .scalar(let scalar) = field.node, scalar.string.trimmingCharacters(in: .whitespaces).hasPrefix("-") {
            throw field.error("must not be negative (got \(scalar.string))")
        }
        let duration = try field.duration()
        guard duration >= .zero else { throw field.error("must not be negative") }
        return duration.timeInterval
    }

    /// A text or a list of text variants.
    /// `when: {team: 1}`, `{team: "2+"}` or `{team: "2-3"}`.
    static func teamSizes(_ field: YAMLField) throws(ModuleError) -> TeamSizes {
        let entries = try field.mapping(allowed: ["team"])
        let team = try ModuleParser.required(entries, "team", in: field)
        guard let sizes = TeamSizes(try team.string()) else {
            throw team.error("expected a team size like 1, \"2+\" or \"2-3\" (sizes start at 1)")
        }
        return sizes
    }

    static func texts(_ field: YAMLField) throws(ModuleError) -> [String] {
        if case .sequence = field.node {
            let list = try field.stringList()
            guard !list.isEmpty else { throw field.error("give at least one text") }
            return list
        }
        return [try field.nonEmptyString()]
    }

    /// Collects prompts (named and inline) and the places that refer to them.
    struct Builder {
        let file: String
        var prompts: [String: [String]] = [:]
        var references: [(id: String, field: YAMLField)] = []

        init(file: String) { self.file = file }

        /// `say: text` (inline, stored under `id`) or `prompt: ID` (from the prompts table).
        mutating func promptID(_ fields: [String: YAMLField], id: String) throws(ModuleError) -> String? {
            if let say = fields["say"] {
                prompts[id] = try PlanParser.texts(say)
                return id
            }
            if let prompt = fields["prompt"] {
                let name = try prompt.nonEmptyString()
                references.append((name, prompt))
                return name
            }
            return nil
        }

        /// A text field that is either inline text or `{prompt: ID}`/`{say: text}`.
        mutating func textOrPrompt(_ field: YAMLField, id: String) throws(ModuleError) -> String {
            if case .mapping = field.node {
                let fields = try field.mapping(allowed: ["say", "prompt"])
                guard let result = try promptID(fields, id: id) else { throw field.error("give say: text or prompt: ID") }
                return result
            }
            prompts[id] = try PlanParser.texts(field)
            return id
        }

        func missingPrompts() -> [ModuleError] {
            references.filter { prompts[$0.id] == nil }.map { reference in
                let known = prompts.keys.filter { !$0.contains(".") }.sorted()
                return reference.field.error("no prompt '\(reference.id)' in prompts (defined: \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
            }
        }

        mutating func stage(_ field: YAMLField, number: Int) throws(PlanError) -> BotPlan.Stage {
            let name: String
            let delay: Double
            let at: Double
            let stepFields: [YAMLField]
            let when: TeamSizes?
            do throws(ModuleError) {
                let fields = try field.mapping(allowed: ["name", "delay", "at", "steps", "when"])
                name = try fields["name"]?.nonEmptyString() ?? "stage\(number)"
                delay = try fields["delay"].map { field throws(ModuleError) in try PlanParser.seconds(field) } ?? 0
                at = try fields["at"].map { field throws(ModuleError) in try PlanParser.seconds(field) } ?? 0
                stepFields = try ModuleParser.required(fields, "steps", in: field).sequence()
                when = try fields["when"].map { field throws(ModuleError) in try PlanParser.teamSizes(field) }
            } catch {
                throw PlanError([error])
            }
            var steps: [BotPlan.Step] = []
            var problems: [ModuleError] = []
            for (index, stepField) in stepFields.enumerated() {
                do throws(ModuleError) {
                    steps.append(try step(stepField, id: "\(name).\(index + 1)"))
                } catch {
                    problems.append(error)
                }
            }
            guard problems.isEmpty else { throw PlanError(problems) }
            return BotPlan.Stage(
                name: name, delay: delay, timeout: at, steps: steps, when: when, location: PlanLocation(file: file, line: field.node.mark?.line))
        }

        mutating func step(_ field: YAMLField, id: String) throws(ModuleError) -> BotPlan.Step {
            let fields = try field.mapping(allowed: PlanParser.stepFields)
            let actions = PlanParser.stepActions.filter { fields[$0] != nil }
            guard actions.count == 1 else {
                if actions.isEmpty { throw field.error("a step needs one action: \(PlanParser.stepActions.joined(separator: ", "))") }
                throw field.error("a step does one thing; this one has \(actions.joined(separator: " and "))")
            }
            let kind = actions[0]
            let value = fields[kind]!
            var timeout = try fields["timeout"].map { field throws(ModuleError) in try PlanParser.seconds(field) } ?? 0
            let action: BotPlan.Action
            switch kind {
            case "say", "prompt":
                let prompt = try promptID(fields, id: id)!
                action = .prompt(id: prompt, role: try fields["role"]?.nonEmptyString())
            case "greet":
                let entries = try value.mapping(allowed: ["introduce", "reply", "listen"])
                let introduce = try textOrPrompt(ModuleParser.required(entries, "introduce", in: value), id: id + ".introduce")
                let reply = try textOrPrompt(ModuleParser.required(entries, "reply", in: value), id: id + ".reply")
                let listen = try entries["listen"].map { field throws(ModuleError) in try PlanParser.seconds(field) } ?? 60
                action = .greet(introduce: introduce, reply: reply, listen: listen)
            case "assignRoles":
                action = .assignRoles(prompt: try textOrPrompt(value, id: id))
            case "rotateRoles":
                action = .rotateRoles(prompt: try textOrPrompt(value, id: id))
            case "gate":
                let entries = try value.mapping(allowed: ["task", "tasks", "timeout", "checkin", "hints", "warning", "passed", "timedOut"])
                var targets: [String] = []
                if let task = entries["task"] { targets.append(try task.nonEmptyString()) }
                if let tasks = entries["tasks"] { targets += try tasks.stringList() }
                guard !targets.isEmpty else { throw value.error("a gate needs task: ID (or tasks: [..]) to wait for") }
                if let field = entries["timeout"] { timeout = try PlanParser.seconds(field) }
                var gate = BotPlan.Gate(targets: targets)
                if let field = entries["checkin"] { gate.checkin = try textOrPrompt(field, id: id + ".checkin") }
                if let field = entries["warning"] {
                    gate.warning = try textOrPrompt(field, id: id + ".warning")
                    guard timeout > 0 else { throw field.error("a warning needs a timeout: it is said at max(timeout - 3m, 75% of timeout)") }
                }
                if let field = entries["passed"] { gate.passed = try textOrPrompt(field, id: id + ".passed") }
                if let field = entries["timedOut"] { gate.timedOut = try textOrPrompt(field, id: id + ".timedOut") }
                if let field = entries["hints"] {
                    for (index, hintField) in try field.sequence().enumerated() {
                        let hint = try hintField.mapping(allowed: ["after", "say", "prompt"])
                        let after = try PlanParser.seconds(ModuleParser.required(hint, "after", in: hintField))
                        guard let prompt = try promptID(hint, id: "\(id).hint\(index + 1)") else {
                            throw hintField.error("a hint needs say: text or prompt: ID")
                        }
                        if timeout > 0, after >= timeout {
                            throw hint["after"]!.error("comes after the gate's timeout (\(Int(timeout))s); it would never be said")
                        }
                        gate.hints.append(BotPlan.Hint(after: after, prompt: prompt))
                    }
                }
                action = .gate(gate)
            case "command":
                action = .command(try value.nonEmptyString())
            case "run":
                if case .mapping = value.node {
                    let entries = try value.mapping(allowed: ["command", "timeout"])
                    let command = try ModuleParser.required(entries, "command", in: value).nonEmptyString()
                    let limit = try entries["timeout"].map { field throws(ModuleError) in try PlanParser.seconds(field) } ?? 60
                    action = .run(command: command, timeout: limit)
                } else {
                    action = .run(command: try value.nonEmptyString(), timeout: 60)
                }
            case "external":
                action = .external(message: try value.nonEmptyString())
            case "log":
                let entries = try value.mapping(allowed: ["tag", "details"])
                action = .log(tag: try ModuleParser.required(entries, "tag", in: value).nonEmptyString(), details: try entries["details"]?.string() ?? "")
            default:
                // postChatLog, end, logout: `end: true`.
                guard try value.bool() else { throw value.error("write \(kind): true, or leave the step out") }
                action = kind == "postChatLog" ? .postChatLog : kind == "end" ? .end : .logout
            }
            if fields["role"] != nil, kind != "say", kind != "prompt" { throw fields["role"]!.error("role only applies to say/prompt steps") }
            let name = try fields["name"]?.nonEmptyString() ?? id
            let delay = try fields["delay"].map { field throws(ModuleError) in try PlanParser.seconds(field) } ?? 0
            let when = try fields["when"].map { field throws(ModuleError) in try PlanParser.teamSizes(field) }
            return BotPlan.Step(
                name: name, delay: delay, timeout: timeout, action: action, when: when, location: PlanLocation(file: file, line: field.node.mark?.line))
        }

        /// The fields each kind of trigger reads, beside `on`, `say`/`prompt`, `cooldown` and `when`.
        static let triggerFields: [(key: String, value: Set<String>)] = [
            ("join", []), ("leave", []), ("lateJoin", []), ("keyword", ["words"]), ("idle", ["after"]), ("testFailures", ["task", "count"]),
            ("silent", ["after"]), ("editShare", ["above", "window", "minUpdates"]), ("driverIdle", ["after"]),
            ("repeatedError", ["count", "within", "same"]),
        ]

        mutating func trigger(_ field: YAMLField, number: Int) throws(ModuleError) -> BotPlan.Trigger {
            let common: Set<String> = ["on", "say", "prompt", "cooldown", "when"]
            let fields = try field.mapping(allowed: Self.triggerFields.reduce(common) { $0.union($1.value) })
            let on = try ModuleParser.required(fields, "on", in: field)
            let kind = try on.string()
            guard let own = Self.triggerFields.first(where: { $0.key == kind })?.value else {
                throw on.error("unknown trigger '\(kind)' (expected one of: \(Self.triggerFields.map(\.key).joined(separator: ", ")))")
            }
            // A field of another kind of trigger is a mistake the author should hear about.
            if let stray = fields.keys.sorted().first(where: { !common.contains($0) && !own.contains($0) }) {
                let known = own.isEmpty ? "none" : own.sorted().joined(separator: ", ")
                throw fields[stray]!.error("does not apply to '\(kind)' triggers (their own fields: \(known))")
            }
            /// A duration that must be more than zero.
            func positive(_ name: String, default value: Double? = nil) throws(ModuleError) -> Double {
                if fields[name] == nil, let value { return value }
                let entry = try ModuleParser.required(fields, name, in: field)
                let seconds = try PlanParser.seconds(entry)
                guard seconds > 0 else { throw entry.error("must be longer than zero") }
                return seconds
            }
            let event: BotPlan.Trigger.Event
            switch kind {
            case "join": event = .join
            case "leave": event = .leave
            case "lateJoin": event = .lateJoin
            case "keyword": event = .keyword(try ModuleParser.required(fields, "words", in: field).stringList())
            case "idle": event = .idle(try positive("after"))
            case "testFailures":
                let task = try ModuleParser.required(fields, "task", in: field).nonEmptyString()
                let count = try fields["count"]?.int() ?? 3
                guard count >= 1 else { throw fields["count"]!.error("at least 1") }
                event = .testFailures(task: task, count: count)
            case "silent": event = .silent(try positive("after"))
            case "driverIdle": event = .driverIdle(try positive("after"))
            case "editShare":
                let aboveField = try ModuleParser.required(fields, "above", in: field)
                guard case .scalar = aboveField.node, let above = aboveField.node.float else {
                    throw aboveField.error("expected a percentage, e.g. 70")
                }
                guard above >= 0, above < 100 else {
                    throw aboveField.error("a percentage from 0 to below 100 (nobody makes more than 100% of the edits); got \(aboveField.node.string ?? "")")
                }
                let minUpdates = try fields["minUpdates"]?.int() ?? 20
                guard minUpdates >= 1 else { throw fields["minUpdates"]!.error("at least 1") }
                event = .editShare(above: above, window: try positive("window", default: 600), minUpdates: minUpdates)
            case "repeatedError":
                let count = try fields["count"]?.int() ?? 3
                guard count >= 2 else { throw fields["count"]!.error("at least 2 (an error seen once is not repeated)") }
                let within = fields["within"] == nil ? nil : try positive("within")
                let same = try fields["same"]?.oneOf(BotPlan.Trigger.ErrorMatch.self) ?? .message
                event = .repeatedError(count: count, within: within, same: same)
            default:
                throw on.error("unknown trigger '\(kind)'")
            }
            guard let prompt = try promptID(fields, id: "trigger\(number)") else { throw field.error("a trigger needs say: text or prompt: ID") }
            let cooldown = try fields["cooldown"].map { field throws(ModuleError) in try PlanParser.seconds(field) } ?? 0
            let when = try fields["when"].map { field throws(ModuleError) in try PlanParser.teamSizes(field) }
            return BotPlan.Trigger(
                event: event, prompt: prompt, cooldown: cooldown, when: when, location: PlanLocation(file: file, line: field.node.mark?.line))
        }
    }
}

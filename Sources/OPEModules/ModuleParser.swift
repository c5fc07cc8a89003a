import Foundation
import OPECore
import Yams

/// Reads one `module.yaml` into a ``Module``, checking everything an instructor can get wrong.
///
/// The format is documented in `docs/modules.md`. Reading walks Yams' node tree rather than using
/// `Decodable`, because only the nodes know their line and column.
public struct ModuleParser: Sendable {
    /// The hidden test files are kept elsewhere (on Kubernetes, in a Secret only the workspace
    /// pods' grading containers see): their paths are checked, their presence is not.
    public var hiddenTestsElsewhere: Bool

    public init(hiddenTestsElsewhere: Bool = false) { self.hiddenTestsElsewhere = hiddenTestsElsewhere }

    static let moduleFields: Set<String> = [
        "id", "title", "description", "kit", "group", "roles", "lateJoinRole", "matching", "rotation", "plan", "assistant", "experiment", "tasks",
        "limits",
    ]
    static let taskFields: Set<String> = ["id", "title", "instructions", "instructionsFile", "starter", "test", "timeLimit"]

    /// Reads the module in `folder` (which must contain `module.yaml`).
    public func parse(folder: String) throws(ModuleError) -> Module {
        let folderURL = URL(fileURLWithPath: folder).standardizedFileURL.resolvingSymlinksInPath()
        let file = folderURL.appendingPathComponent("module.yaml").path
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ModuleError(file: file, message: "cannot read the file: \(error.localizedDescription)")
        }
        return try parse(yaml: text, file: file, folder: folderURL.path)
    }

    /// Reads module YAML `text` that was found at `file`; relative paths resolve against `folder`.
    public func parse(yaml text: String, file: String, folder: String) throws(ModuleError) -> Module {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw ModuleError(file: file, message: "the file is empty") }
            root = node
        } catch let error as ModuleError {
            throw error
        } catch let error as YamlError {
            throw Self.syntaxError(error, file: file)
        } catch {
            throw ModuleError(file: file, message: "not valid YAML: \(error)")
        }
        let files = ModuleFiles(folder: folder, file: file, hiddenTestsElsewhere: hiddenTestsElsewhere)
        let fields = try YAMLField(node: root, path: "", file: file).mapping(allowed: Self.moduleFields)
        let top = YAMLField(node: root, path: "", file: file)

        let id = try Self.identifier(Self.required(fields, "id", in: top))
        let title = try Self.required(fields, "title", in: top).nonEmptyString()
        let description = try fields["description"]?.string()
        let kit = try Self.required(fields, "kit", in: top).oneOf(LanguageKit.self)
        let group = try fields["group"].map(Self.groupSize) ?? .default
        var roles = Module.defaultRoles
        var enforcement = RoleEnforcement.off
        if let field = fields["roles"] {
            // A list of names, or `{names: [...], enforce: driver-edits}`.
            if case .mapping = field.node {
                let entries = try field.mapping(allowed: ["names", "enforce"])
                roles = try entries["names"].map(Self.roles) ?? Module.defaultRoles
                enforcement = try entries["enforce"]?.oneOf(RoleEnforcement.self) ?? .off
            } else {
                roles = try Self.roles(field)
            }
        }
        var lateJoinRole: String?
        if let field = fields["lateJoinRole"] {
            let role = try field.nonEmptyString()
            guard roles.contains(role) else { throw field.error("'\(role)' is not one of the roles (\(roles.joined(separator: ", ")))") }
            lateJoinRole = role
        }
        let matching = try fields["matching"].map(Self.matching) ?? MatchingPolicy()
        var rotation: Duration?
        if let field = fields["rotation"] {
            let entries = try field.mapping(allowed: ["every"])
            rotation = try entries["every"]?.duration()
            if let rotation, rotation <= .zero { throw entries["every"]!.error("must be longer than zero") }
        }
        var plan: String?
        if let field = fields["plan"] {
            plan = try files.existingPath(field, allowFolder: true)
        }
        let tasksField = try Self.required(fields, "tasks", in: top)
        let taskFields = try tasksField.sequence()
        guard !taskFields.isEmpty else { throw tasksField.error("a module needs at least one task") }
        var tasks: [ModuleTask] = []
        var seen: Set<String> = []
        for field in taskFields {
            let task = try Self.task(field, files: files)
            guard seen.insert(task.id).inserted else {
                let idField = (try? field.mapping(allowed: Self.taskFields))?["id"] ?? field
                throw idField.error("duplicate task id '\(task.id)'")
            }
            tasks.append(task)
        }
        var module = Module(
            id: id, title: title, description: description, kit: kit, group: group, roles: roles, lateJoinRole: lateJoinRole,
            matching: matching, rotationInterval: rotation, plan: plan, tasks: tasks, folder: folder
        )
        module.externalBot = try fields["assistant"].map { field throws(ModuleError) in try Self.externalBot(field, files: files) }
        module.experiment = try fields["experiment"].map { field throws(ModuleError) in try Self.experiment(field, files: files) }
        if let field = fields["limits"] { module.limits = try Self.limits(field) }
        module.roleEnforcement = enforcement
        return module
    }

    // MARK: Parts

    static func required(_ fields: [String: YAMLField], _ key: String, in parent: YAMLField) throws(ModuleError) -> YAMLField {
        guard let field = fields[key] else {
            let path = parent.path.isEmpty ? key : "\(parent.path).\(key)"
            throw YAMLField(node: parent.node, path: path, file: parent.file).error("required field is missing")
        }
        return field
    }

    static func identifier(_ field: YAMLField) throws(ModuleError) -> String {
        let value = try field.nonEmptyString()
        let valid =
            (2...64).contains(value.count)
            && value.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
            && value.first != "-"
        guard valid else { throw field.error("'\(value)' must be 2 to 64 lowercase letters, digits or '-', not starting with '-'") }
        return value
    }

    static func groupSize(_ field: YAMLField) throws(ModuleError) -> GroupSize {
        let fields = try field.mapping(allowed: ["min", "target", "max"])
        let defaults = GroupSize.default
        let min = try fields["min"]?.int() ?? defaults.min
        let max = try fields["max"]?.int() ?? Swift.max(defaults.max, min)
        let target = try fields["target"]?.int() ?? Swift.min(Swift.max(defaults.target, min), max)
        guard min >= 1 else { throw (fields["min"] ?? field).error("must be at least 1") }
        guard max <= GroupSize.limit else { throw (fields["max"] ?? field).error("must be at most \(GroupSize.limit)") }
        guard min <= target, target <= max else {
            throw field.error("need min <= target <= max, got min \(min), target \(target), max \(max)")
        }
        return GroupSize(min: min, target: target, max: max)
    }

    /// `limits:` — memory, processes, cpus, openFiles, disk, network; each checked with its line.
    static func limits(_ field: YAMLField) throws(ModuleError) -> WorkspaceLimits.Changes {
        var changes = WorkspaceLimits.Changes()
        for (name, value) in try field.mapping(allowed: Set(WorkspaceLimits.Changes.names)) {
            let text = try value.string()
            do throws(LimitsError) {
                try changes.set(name, to: text)
            } catch {
                throw value.error(error.description)
            }
        }
        return changes
    }

    static func roles(_ field: YAMLField) throws(ModuleError) -> [String] {
        let roles = try field.stringList()
        guard !roles.isEmpty else { throw field.error("a module needs at least one role") }
        var seen: Set<String> = []
        for (index, role) in roles.enumerated() where !seen.insert(role).inserted {
            throw try field.sequence()[index].error("duplicate role '\(role)'")
        }
        return roles
    }

    static func matching(_ field: YAMLField) throws(ModuleError) -> MatchingPolicy {
        let fields = try field.mapping(allowed: ["mode", "open", "settle", "giveUp", "lateJoin"])
        var policy = MatchingPolicy()
        if let value = fields["mode"] { policy.mode = try value.oneOf(MatchingPolicy.Mode.self) }
        if let value = fields["open"] { policy.open = try value.bool() }
        if let value = fields["settle"] { policy.settle = try value.duration() }
        if let value = fields["giveUp"] { policy.giveUp = try value.duration() }
        if let value = fields["lateJoin"] { policy.lateJoin = try value.duration() }
        guard policy.giveUp > policy.settle else {
            throw (fields["giveUp"] ?? field).error("giveUp must be longer than settle")
        }
        return policy
    }

    static func task(_ field: YAMLField, files: ModuleFiles) throws(ModuleError) -> ModuleTask {
        let fields = try field.mapping(allowed: taskFields)
        let id = try identifier(required(fields, "id", in: field))
        let title = try required(fields, "title", in: field).nonEmptyString()
        let instructions: String
        switch (fields["instructions"], fields["instructionsFile"]) {
        case (let inline?, nil):
            instructions = try inline.nonEmptyString()
        case (nil, let file?):
            let path = try files.existingPath(file, allowFolder: false)
            do {
                instructions = try String(contentsOfFile: files.absolute(path), encoding: .utf8)
            } catch {
                throw file.error("cannot read '\(path)': \(error.localizedDescription)")
            }
        case (_?, let file?):
            throw file.error("give either instructions or instructionsFile, not both")
        case (nil, nil):
            throw YAMLField(node: field.node, path: "\(field.path).instructions", file: field.file).error("required field is missing")
        }
        var starter: [String] = []
        if let value = fields["starter"] {
            for element in try value.sequence() { starter.append(try files.existingPath(element, allowFolder: false)) }
        }
        let test = try fields["test"].map { field throws(ModuleError) in try taskTest(field, files: files) }
        var timeLimit: Duration?
        if let value = fields["timeLimit"] {
            timeLimit = try value.duration()
            if let timeLimit, timeLimit <= .zero { throw value.error("must be longer than zero") }
        }
        return ModuleTask(id: id, title: title, instructions: instructions, starterFiles: starter, test: test, timeLimit: timeLimit)
    }

    static func taskTest(_ field: YAMLField, files: ModuleFiles) throws(ModuleError) -> TaskTest {
        if case .scalar = field.node {
            // Shorthand: the test file alone, run with pytest.
            let path = try files.existingPath(field, allowFolder: false, mustExist: !files.hiddenTestsElsewhere)
            return TaskTest(command: "python -m pytest -q \(path)", files: [path])
        }
        let fields = try field.mapping(allowed: ["files", "command", "timeout"])
        let command = try required(fields, "command", in: field).nonEmptyString()
        var testFiles: [String] = []
        if let value = fields["files"] {
            for element in try value.sequence() { testFiles.append(try files.existingPath(element, allowFolder: true, mustExist: !files.hiddenTestsElsewhere)) }
        }
        var timeout = Duration.seconds(60)
        if let value = fields["timeout"] {
            timeout = try value.duration()
            guard timeout > .zero else { throw value.error("must be longer than zero") }
        }
        return TaskTest(command: command, files: testFiles, timeout: timeout)
    }

    /// `assistant:` — a webhook URL or an OpenAI-compatible chat-completions endpoint.
    static func externalBot(_ field: YAMLField, files: ModuleFiles) throws(ModuleError) -> ExternalBot {
        let fields = try field.mapping(allowed: ["name", "webhook", "chatCompletions", "timeout", "breaker"])
        func url(_ field: YAMLField) throws(ModuleError) -> String {
            let value = try field.nonEmptyString()
            guard value.hasPrefix("http://") || value.hasPrefix("https://") else { throw field.error("expected an http:// or https:// URL") }
            return value
        }
        let name = try fields["name"]?.nonEmptyString() ?? "Assistant"
        var bot: ExternalBot
        switch (fields["webhook"], fields["chatCompletions"]) {
        case (let webhook?, nil):
            bot = ExternalBot(name: name, url: try url(webhook), kind: .webhook)
        case (nil, let chat?):
            let entries = try chat.mapping(allowed: ["url", "model", "systemPrompt", "systemPromptFile", "context", "apiKeyEnv", "respondTo"])
            let endpoint = try url(required(entries, "url", in: chat))
            let model = try required(entries, "model", in: chat).nonEmptyString()
            var system = "You are a research assistant helping a team of students with a programming exercise. Answer briefly."
            if let inline = entries["systemPrompt"] { system = try inline.nonEmptyString() }
            if let file = entries["systemPromptFile"] {
                let path = try files.existingPath(file, allowFolder: false)
                do {
                    system = try String(contentsOfFile: files.absolute(path), encoding: .utf8)
                } catch {
                    throw file.error("cannot read '\(path)': \(error.localizedDescription)")
                }
            }
            let context = try entries["context"]?.int() ?? 20
            guard (1...200).contains(context) else { throw entries["context"]!.error("between 1 and 200 recent messages") }
            var respondToAll = false
            if let respond = entries["respondTo"] {
                switch try respond.string() {
                case "all": respondToAll = true
                case "mention": respondToAll = false
                case let other: throw respond.error("unknown value '\(other)' (expected mention or all)")
                }
            }
            let key = try entries["apiKeyEnv"]?.nonEmptyString()
            bot = ExternalBot(
                name: name, url: endpoint,
                kind: .chatCompletions(model: model, systemPrompt: system, context: context, apiKeyVariable: key, respondToAll: respondToAll)
            )
        case (_?, _?):
            throw field.error("give either webhook or chatCompletions, not both")
        case (nil, nil):
            throw field.error("give webhook: URL or chatCompletions: {url, model}")
        }
        if let timeout = fields["timeout"] {
            bot.timeout = try timeout.duration()
            guard bot.timeout > .zero else { throw timeout.error("must be longer than zero") }
        }
        if let breaker = fields["breaker"] {
            let entries = try breaker.mapping(allowed: ["failures", "cooldown"])
            if let failures = entries["failures"] {
                bot.breakerFailures = try failures.int()
                guard bot.breakerFailures >= 1 else { throw failures.error("at least 1") }
            }
            if let cooldown = entries["cooldown"] {
                bot.breakerCooldown = try cooldown.duration()
                guard bot.breakerCooldown > .zero else { throw cooldown.error("must be longer than zero") }
            }
        }
        return bot
    }

    /// `experiment:` — a seed and at least two named conditions.
    static func experiment(_ field: YAMLField, files: ModuleFiles) throws(ModuleError) -> Experiment {
        let fields = try field.mapping(allowed: ["seed", "conditions"])
        let seed = try fields["seed"]?.int() ?? 1
        guard seed >= 0 else { throw fields["seed"]!.error("must not be negative") }
        let list = try required(fields, "conditions", in: field)
        var conditions: [Experiment.Condition] = []
        for element in try list.sequence() {
            let entries = try element.mapping(allowed: ["name", "plan", "assistant"])
            let nameField = try required(entries, "name", in: element)
            let name = try nameField.nonEmptyString()
            guard !conditions.contains(where: { $0.name == name }) else { throw nameField.error("duplicate condition '\(name)'") }
            var condition = Experiment.Condition(name: name)
            if let plan = entries["plan"] { condition.planPath = try files.existingPath(plan, allowFolder: true) }
            if let assistant = entries["assistant"] {
                if case .scalar = assistant.node, try assistant.string() == "off" {
                    condition.noExternalBot = true
                } else {
                    condition.externalBot = try externalBot(assistant, files: files)
                }
            }
            conditions.append(condition)
        }
        guard conditions.count >= 2 else { throw list.error("an experiment needs at least two conditions") }
        return Experiment(seed: UInt64(seed), conditions: conditions)
    }

    static func syntaxError(_ error: YamlError, file: String) -> ModuleError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { "\(problem) \($0.text)" } ?? problem
            return ModuleError(file: file, line: mark.line, column: mark.column, message: "not valid YAML: \(detail)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ModuleError(
                file: file, line: context.mark.line, column: context.mark.column,
                message: "duplicate keys: \(duplicates.joined(separator: ", "))"
            )
        default:
            return ModuleError(file: file, message: "not valid YAML: \(error)")
        }
    }
}

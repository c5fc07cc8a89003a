import Foundation
import OPECore

/// Imports a Bazaar agent plan: `plan_steps.xml` with its prompt files (`plan_prompts.xml`,
/// `gatekeeper_prompts.xml`, `plan_commands.xml`) and, if present, the agent's `.properties`
/// files, from one folder (or its `plans/` and `properties/` sub-folders, as in a Bazaar runtime).
///
/// The result runs on ``OPEBot/PlanEngine`` with Bazaar's timing; `docs/bot-plans.md` lists where
/// OPE differs on purpose. Every step type OPE does not run and every prompt id the plan uses but
/// no prompt file defines is reported with file and line; nothing is skipped.
public struct BazaarPlanImporter: Sendable {
    public init() {}

    /// The step types OPE runs, as Bazaar's `PlanExecutor.properties` names them.
    public static let supportedTypes: Set<String> = [
        "prompt", "greet", "match", "rotate", "send_command", "send_external_message", "file_gated", "chatlog", "sendlog", "logstate",
        "send_end", "logout",
    ]

    struct PromptTable {
        var file: String?
        var texts: [String: [String]] = [:]

        init(file: String?) throws(ModuleError) {
            self.file = file
            guard let file else { return }
            let root = try XMLTree.read(file: file)
            for prompt in root.children where prompt.name == "prompt" {
                guard let id = prompt.attributes["id"] else {
                    throw ModuleError(file: file, line: prompt.line, field: "prompt", message: "a prompt needs an id attribute")
                }
                texts[id] = prompt.children.filter { $0.name == "text" }.map(\.text)
            }
        }

        func has(_ id: String) -> Bool { texts[id]?.isEmpty == false }
    }

    public func load(folder: String) throws(PlanError) -> BotPlan {
        func find(_ name: String) -> String? {
            for candidate in [folder, folder + "/plans", folder + "/properties"] where FileManager.default.fileExists(atPath: candidate + "/" + name) {
                return candidate + "/" + name
            }
            return nil
        }
        guard let stepsFile = find("plan_steps.xml") else {
            throw PlanError([ModuleError(file: folder, message: "no plan_steps.xml in this folder (or its plans/ sub-folder)")])
        }
        var problems: [ModuleError] = []
        func attempt<T>(_ body: () throws(ModuleError) -> T) -> T? {
            do { return try body() } catch {
                problems.append(error)
                return nil
            }
        }
        let prompts = attempt { () throws(ModuleError) in try PromptTable(file: find("plan_prompts.xml")) }
        let gatekeeper = attempt { () throws(ModuleError) in try PromptTable(file: find("gatekeeper_prompts.xml")) }
        let commands = attempt { () throws(ModuleError) in try PromptTable(file: find("plan_commands.xml")) }
        let settings = attempt { () throws(ModuleError) in try self.settings(find: find) }
        let handlers =
            attempt { () throws(ModuleError) in try find("PlanExecutor.properties").map { file throws(ModuleError) in try JavaProperties(file: file) } } ?? nil
        guard let root = attempt({ () throws(ModuleError) in try XMLTree.read(file: stepsFile) }), let prompts, let gatekeeper, let commands,
            let settings
        else { throw PlanError(problems) }

        // Types the agent's PlanExecutor.properties maps to a handler (all of ours if it is absent).
        var mapped = Self.supportedTypes
        if let handlers, let list = handlers.list("planexecutor.step_handlers") {
            mapped = Set(list.compactMap { $0.split(separator: ":").first.map { String($0).lowercased() } })
        }

        var table = prompts.texts
        for (id, texts) in gatekeeper.texts where table[id] == nil { table[id] = texts }
        var stages: [BotPlan.Stage] = []
        for stageElement in root.children where stageElement.name == "stage" {
            let location = PlanLocation(file: stepsFile, line: stageElement.line)
            func number(_ element: XMLTree, _ name: String) -> Double {
                guard let raw = element.attributes[name] else { return 0 }
                guard let value = Int(raw.trimmingCharacters(in: .whitespaces)), value >= 0 else {
                    problems.append(
                        ModuleError(
                            file: stepsFile, line: element.line, field: "\(element.name).\(name)", message: "expected a whole number of seconds, got '\(raw)'"))
                    return 0
                }
                return Double(value)
            }
            guard let stageName = stageElement.attributes["name"] else {
                problems.append(ModuleError(file: stepsFile, line: stageElement.line, field: "stage", message: "a stage needs a name attribute"))
                continue
            }
            var steps: [BotPlan.Step] = []
            for stepElement in stageElement.children where stepElement.name == "step" {
                let name = stepElement.text.trimmingCharacters(in: .whitespacesAndNewlines)
                let type = (stepElement.attributes["type"] ?? "").lowercased()
                let attributes = stepElement.attributes
                func fail(_ message: String) {
                    problems.append(ModuleError(file: stepsFile, line: stepElement.line, field: "step \(name.isEmpty ? "(no name)" : name)", message: message))
                }
                func need(_ id: String, in table: PromptTable, what: String = "prompt") -> String {
                    if !table.has(id) { fail("\(what) id '\(id)' is not defined in \(table.file ?? "the folder (no prompt file found)")") }
                    return id
                }
                guard !name.isEmpty else {
                    fail("a step needs its name as text (e.g. <step type=\"prompt\">GREETING</step>)")
                    continue
                }
                guard mapped.contains(type) else {
                    fail("step type '\(type)' has no handler in PlanExecutor.properties (Bazaar would wait here forever)")
                    continue
                }
                let action: BotPlan.Action
                switch type {
                case "prompt":
                    action = .prompt(id: need(attributes["prompt"] ?? name, in: prompts), role: attributes["role"])
                case "greet":
                    action = .greet(introduce: need("INTRODUCE", in: prompts), reply: need("GREET", in: prompts), listen: 60)
                case "match":
                    action = .assignRoles(prompt: need(attributes["prompt"] ?? name, in: prompts))
                case "rotate":
                    action = .rotateRoles(prompt: need(attributes["prompt"] ?? name, in: prompts))
                case "send_command":
                    let id = need(attributes["command"] ?? name, in: commands, what: "command")
                    action = .command((commands.texts[id]?.first ?? id).trimmingCharacters(in: .whitespacesAndNewlines))
                case "send_external_message":
                    guard let message = attributes["message"] else {
                        fail("send_external_message needs a message attribute")
                        continue
                    }
                    action = .external(message: message)
                case "file_gated":
                    guard let file = attributes["file"], !file.isEmpty else {
                        fail("file_gated needs a file attribute (the name of the event that opens the gate)")
                        continue
                    }
                    var gate = BotPlan.Gate(targets: [file], passed: need("FILE_STEP_COMPLETE", in: gatekeeper))
                    let checkin = attributes["checkin_prompt"] ?? "WAIT_FOR_CHECKIN"
                    if checkin != "NONE" { gate.checkin = need(checkin, in: gatekeeper) }
                    let warning = attributes["warning_prompt"] ?? "NONE"
                    if warning != "NONE" { gate.warning = need(warning, in: gatekeeper) }
                    let hintIDs = (attributes["delayed_prompt"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    let hintTimes = (attributes["delayed_prompt_time"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    if hintIDs.count != hintTimes.count {
                        fail("delayed_prompt lists \(hintIDs.count) prompts but delayed_prompt_time \(hintTimes.count) times")
                    }
                    for (id, time) in zip(hintIDs, hintTimes) {
                        guard let seconds = Int(time), seconds >= 0 else {
                            fail("delayed_prompt_time '\(time)' is not a whole number of seconds")
                            continue
                        }
                        gate.hints.append(BotPlan.Hint(after: Double(seconds), prompt: need(id, in: gatekeeper)))
                    }
                    action = .gate(gate)
                case "chatlog":
                    action = .postChatLog
                case "sendlog":
                    action = .log(tag: attributes["tag"] ?? name, details: attributes["details"] ?? "")
                case "logstate":
                    action = .log(tag: attributes["state_tag"] ?? name, details: attributes["state_value"] ?? "")
                case "send_end":
                    action = .end
                case "logout":
                    action = .logout
                default:
                    fail("step type '\(type)' is not supported by OPE (supported: \(Self.supportedTypes.sorted().joined(separator: ", ")))")
                    continue
                }
                steps.append(
                    BotPlan.Step(
                        name: name, delay: number(stepElement, "delay"), timeout: number(stepElement, "timeout"), action: action,
                        location: PlanLocation(file: stepsFile, line: stepElement.line)
                    )
                )
            }
            stages.append(
                BotPlan.Stage(name: stageName, delay: number(stageElement, "delay"), timeout: number(stageElement, "timeout"), steps: steps, location: location)
            )
        }
        if root.name != "plan" {
            problems.append(ModuleError(file: stepsFile, line: root.line, message: "expected a <plan> root element, found <\(root.name)>"))
        } else if stages.isEmpty, problems.isEmpty {
            problems.append(ModuleError(file: stepsFile, line: root.line, message: "the plan has no stages"))
        }
        guard problems.isEmpty else { throw PlanError(problems) }
        return BotPlan(
            name: root.attributes["name"] ?? URL(fileURLWithPath: folder).lastPathComponent, format: .bazaar, source: folder, settings: settings,
            stages: stages, prompts: table
        )
    }

    /// Roles, reading speed and launch rules from the agent's properties files (Bazaar's defaults
    /// where a file or key is missing).
    func settings(find: (String) -> String?) throws(ModuleError) -> BotPlan.Settings {
        var settings = BotPlan.Settings(launchMembers: 2, launchTimeout: 300, gatesRememberPasses: false)
        settings.botName = "OPE_Bot"
        if let file = find("MatchStepHandler.properties") ?? find("RotateStepHandler.properties") {
            let properties = try JavaProperties(file: file)
            if let roles = properties.list("roles"), !roles.isEmpty { settings.roles = roles }
            if let role = properties["default_role"] { settings.defaultRole = role }
            if let value = try properties.int("min_users_to_match") { settings.minMembersToMatch = value }
            if let value = try properties.bool("match_multiple_to_default") { settings.multipleToDefault = value }
            if let value = try properties.int("words_per_minute") {
                guard value > 0 else { throw properties.error("words_per_minute", "must be more than 0") }
                settings.wordsPerMinute = Double(value)
            }
        }
        if let file = find("PresenceWatcher.properties") {
            let properties = try JavaProperties(file: file)
            if let value = try properties.int("expected_number_of_students") { settings.launchMembers = value }
            if let value = try properties.int("launch_timeout") { settings.launchTimeout = Double(value) }
            if let name = properties["non_user_client_name"], !name.isEmpty { settings.botName = name }
        }
        return settings
    }
}

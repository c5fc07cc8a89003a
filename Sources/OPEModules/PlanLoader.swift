import Foundation
import OPECore

/// Loads a bot plan from a path — a native YAML file, or a folder holding a Bazaar plan — and
/// checks it against the module that runs it.
public struct PlanLoader: Sendable {
    public init() {}

    public func load(path: String) throws(PlanError) -> BotPlan {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PlanError([ModuleError(file: path, message: "no such plan file or folder")])
        }
        if isDirectory.boolValue { return try BazaarPlanImporter().load(folder: path) }
        return try PlanParser().parse(file: path)
    }

    /// Binds `plan` to `module`: every gate and trigger must name one of its tasks (a Bazaar gate
    /// file ending in `_N` means the module's N-th task), and every role the plan hands out must
    /// be one of the module's roles.
    public func bind(_ plan: BotPlan, to module: Module) throws(PlanError) -> BotPlan {
        var problems: [ModuleError] = []
        var map: [String: String] = [:]
        let taskIDs = module.tasks.map(\.id)
        func check(_ target: String, at location: PlanLocation) {
            if taskIDs.contains(target) { return }
            if plan.format == .bazaar, let number = target.split(separator: "_").last.flatMap({ Int($0) }), (1...taskIDs.count).contains(number) {
                map[target] = taskIDs[number - 1]
                return
            }
            problems.append(
                ModuleError(
                    file: location.file, line: location.line,
                    message: "the plan waits for task '\(target)', but module '\(module.id)' has no such task (tasks: \(taskIDs.joined(separator: ", ")))"
                )
            )
        }
        for (_, step) in plan.allSteps {
            if case .gate(let gate) = step.action { for target in gate.targets { check(target, at: step.location) } }
        }
        for trigger in plan.triggers {
            if case .testFailures(let task, _) = trigger.event { check(task, at: trigger.location) }
            if case .driverIdle = trigger.event, module.roles.isEmpty {
                problems.append(
                    ModuleError(
                        file: trigger.location.file, line: trigger.location.line,
                        message: "a driverIdle trigger watches the member holding the module's first role, but module '\(module.id)' has no roles"))
            }
        }
        let handsOutRoles = plan.allSteps.contains { _, step in
            switch step.action {
            case .assignRoles, .rotateRoles: true
            default: false
            }
        }
        if handsOutRoles {
            for role in plan.settings.roles + [plan.settings.defaultRole] where Self.moduleRole(role, in: module) == nil {
                problems.append(
                    ModuleError(
                        file: plan.source, field: "roles",
                        message: "the plan hands out role '\(role)', which module '\(module.id)' does not have (roles: \(module.roles.joined(separator: ", ")))"
                    )
                )
            }
        }
        guard problems.isEmpty else { throw PlanError(problems) }
        return plan.bindingTargets(map)
    }

    /// The module role a plan role name stands for: the same words, ignoring case, `_` and spaces.
    public static func moduleRole(_ planRole: String, in module: Module) -> String? {
        func key(_ text: String) -> String { text.lowercased().replacingOccurrences(of: "_", with: " ").trimmingCharacters(in: .whitespaces) }
        return module.roles.first { key($0) == key(planRole) }
    }
}

import Foundation
import OPEBot
import OPECore
import Testing

@testable import OPERuntime

/// What the bots are fed from the log for the behaviour triggers: a member's attributed edits and
/// runs, and which role is the driver's.
@Suite struct BotInputTests {
    let module = Module(
        id: "m", title: "M", kit: .python, roles: ["lead_driver", "navigator"], tasks: [ModuleTask(id: "t", title: "T", instructions: "")], folder: "/m")
    let plan = BotPlan(
        name: "p", format: .native, source: "p.yaml", settings: BotPlan.Settings(roles: ["Lead Driver", "Navigator"]),
        stages: [BotPlan.Stage(name: "s", steps: [], location: PlanLocation(file: "p.yaml", line: 1))])

    func event(_ type: EventType, actor: String?, _ payload: some EventPayload) throws -> Event {
        Event(
            id: 1, time: Date(timeIntervalSince1970: 1_800_000_000), type: type, actor: actor, session: "s",
            payload: try JSONValueEncoder().encode(payload).objectValue ?? [:])
    }

    @Test func attributedEditsAndRunsBecomeEngineInputs() throws {
        let edited = try event(.workspaceEdited, actor: "ann", EditedPayload(updates: 12, document: "a.ipynb", role: "lead_driver"))
        #expect(BotService.input(for: edited, module: module, plan: plan) == .edited(user: "ann", updates: 12))
        let run = try event(
            .workspaceExecuted, actor: "ben",
            ExecutedPayload(cell: "c1", code: "print(x)", outcome: "error", errorName: "NameError", errorValue: "name 'x' is not defined"))
        #expect(
            BotService.input(for: run, module: module, plan: plan)
                == .executed(PlanEngine.Execution(user: "ben", outcome: "error", errorName: "NameError", errorValue: "name 'x' is not defined", cell: "c1")))
        // Without a member (the system's records) there is nobody to attribute them to.
        let anonymous = try event(.workspaceEdited, actor: nil, EditedPayload(updates: 3))
        #expect(BotService.input(for: anonymous, module: module, plan: plan) == nil)
    }

    @Test func theDriverIsThePlansNameForTheModulesFirstRole() {
        #expect(BotService.driverRole(plan: plan, module: module) == "Lead Driver")
        let noRoles = Module(id: "m", title: "M", kit: .python, roles: [], tasks: [], folder: "/m")
        #expect(BotService.driverRole(plan: plan, module: noRoles) == nil)
    }
}

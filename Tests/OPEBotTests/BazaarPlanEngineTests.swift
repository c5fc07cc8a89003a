import Foundation
import OPEBot
import OPECore
import OPEModules
import Testing

/// Drives the 15619P2Agent plan with a manual clock and checks it against the worked example in
/// the shared Bazaar semantics (section 6): which message, command and role change at which second.
@Suite struct BazaarPlanEngineTests {
    /// The engine plus everything it did, with times relative to the plan's launch.
    struct Run {
        var engine: PlanEngine
        var actions: [PlanEngine.Action] = []
        var launch: Double { engine.launchedAt ?? 0 }

        init(plan: BotPlan, team: Int = 3, seed: UInt64 = 7) {
            engine = PlanEngine(plan: plan, teamSize: team, seed: seed)
        }

        mutating func input(_ input: PlanEngine.Input, at time: Double) { actions += engine.handle(input, at: time) }
        mutating func advance(to time: Double) { actions += engine.advance(to: time) }

        /// Messages said, as (seconds after launch, text).
        var said: [(Double, String)] {
            actions.compactMap { action in
                if case .say(let text, _) = action.kind { return (action.time - launch, text) }
                return nil
            }
        }

        func time(of predicate: (PlanEngine.Kind) -> Bool) -> Double? {
            actions.first { predicate($0.kind) }.map { $0.time - launch }
        }

        func timeSaid(_ prefix: String) -> Double? { said.first { $0.1.hasPrefix(prefix) }?.0 }
        func timeOfStage(_ name: String) -> Double? { time { $0 == .stage(name) } }
        func timeOfStep(_ name: String) -> Double? { time { if case .step(_, name) = $0 { true } else { false } } }
        func timeOfExternal(_ message: String) -> Double? { time { $0 == .external(message) } }
        func timeOfCommand(_ command: String) -> Double? { time { $0 == .command(command) } }
        var roleChanges: [(Double, [String: String], String)] {
            actions.compactMap { action in
                if case .roles(let map, let reason) = action.kind { return (action.time - launch, map, reason) }
                return nil
            }
        }
    }

    static func close(_ value: Double?, _ expected: Double, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let value else {
            Issue.record("expected something at \(expected) s, but it never happened", sourceLocation: sourceLocation)
            return
        }
        #expect(abs(value - expected) < 0.001, "at \(value) s, expected \(expected) s", sourceLocation: sourceLocation)
    }

    /// Ann joins 40 s before Ben (launch), Cat 12 s after launch.
    static func started(until: Double, seed: UInt64 = 7) throws -> Run {
        var run = Run(plan: try BazaarReference.plan(), seed: seed)
        run.input(.joined("Ann"), at: 0)
        run.input(.joined("Ben"), at: 40)
        run.input(.joined("Cat"), at: 52)
        run.advance(to: 40 + until)
        return run
    }

    @Test func importsThePlanAndItsSettings() throws {
        let plan = try BazaarReference.plan()
        #expect(plan.format == .bazaar)
        #expect(
            plan.stages.map(\.name) == [
                "StageLO1", "StageLO1_Discussion", "StageLO2", "StageL02_Discussion", "StageLO3", "StageLO3_Discussion", "WrapUp", "EndStage",
            ])
        #expect(plan.stages.last?.timeout == 6060)
        #expect(plan.settings.roles == ["Driver", "Navigator", "Researcher"])
        #expect(plan.settings.defaultRole == "Researcher")
        #expect(plan.settings.launchMembers == 2)
        #expect(plan.settings.launchTimeout == 300)
        #expect(plan.settings.wordsPerMinute == 400)
        #expect(plan.settings.botName == "OPE_Bot")
        #expect(plan.gateTargets == ["testcase-complete_1", "testcase-complete_2", "testcase-complete_3"])
        guard case .gate(let gate) = plan.stages[0].steps[6].action else {
            Issue.record("Test_case_1 should be a gate")
            return
        }
        #expect(gate.hints == [BotPlan.Hint(after: 1320, prompt: "BOTTOM-OUT_TASK-1")])
        #expect(gate.checkin == nil)
        #expect(plan.stages[0].steps[6].timeout == 2281)
    }

    @Test func opensAsTheWorkedExampleSays() throws {
        let run = try Self.started(until: 40)
        #expect(run.launch == 40, "launch when the second student (Ben) arrives")
        Self.close(run.timeOfStage("StageLO1"), 0)
        #expect(run.said.first?.1 == "We're starting! I'm OPE_Bot.")
        Self.close(run.said.first?.0, 0)
        Self.close(run.timeOfCommand("task1"), 4.70)
        Self.close(run.timeSaid("Beginning now, you will have approximately 100 minutes"), 9.70)
        Self.close(run.timeSaid("Okay! Let's assign your responsibilities"), 17.65)
        Self.close(run.timeOfExternal("task=task1-start"), 24.10)
        // Cat arrived at 12 s, so the match sees three students.
        let match = try #require(run.roleChanges.first)
        Self.close(match.0, 29.10)
        #expect(match.2 == "match")
        #expect(Set(match.1.keys) == ["Ann", "Ben", "Cat"])
        #expect(Set(match.1.values) == ["Driver", "Navigator", "Researcher"])
        let announcement = try #require(run.said.first { $0.1.hasPrefix("Your initial roles are -") })
        for (user, role) in match.1 { #expect(announcement.1.contains("\(role) - \(user)")) }
        #expect(announcement.1.contains("The project manager role is unassigned"))
        Self.close(run.timeOfStep("Test_case_1"), 39.75)
    }

    @Test func testsPassingEarlyMoveThePlanOn() throws {
        var run = try Self.started(until: 899)
        run.input(.testResult(task: "testcase-complete_1", passed: true), at: 40 + 900)
        run.advance(to: 40 + 1100)
        let praise = try #require(run.said.first { $0.0 >= 900 })
        Self.close(praise.0, 900)
        #expect(praise.1.contains("ptimizations"), "one of FILE_STEP_COMPLETE's texts, got \(praise.1)")
        Self.close(run.timeSaid("IT'S TIME TO MOVE ON FROM TASK 1."), 905)
        Self.close(run.timeOfExternal("task=task1-complete-a"), 911.3)
        Self.close(run.timeOfExternal("task=task1-complete-b"), 941.3)
        Self.close(run.timeOfExternal("task=task1-complete-c"), 971.3)
        Self.close(run.timeOfStage("StageLO2"), 989.3)
        Self.close(run.timeOfExternal("task=task2-start"), 989.3)
        Self.close(run.timeOfCommand("task2"), 994.3)
        Self.close(run.timeOfStep("Prompt_Role_Switch_Task2"), 999.3)
        let rotation = try #require(run.roleChanges.last)
        Self.close(rotation.0, 1006.8)
        #expect(rotation.2 == "rotate")
        #expect(Set(rotation.1.values) == ["Driver", "Navigator", "Researcher"])
        let matched = run.roleChanges[0].1
        let kept = rotation.1.filter { matched[$0.key] == $0.value }
        // Bazaar's rotation: a full derangement, or the Researcher keeps the role and the others swap.
        #expect(kept.isEmpty || kept.values.allSatisfy { $0 == "Researcher" }, "rotation kept \(kept)")
        Self.close(run.timeOfStep("Test_case_2"), 1015.2)
        #expect(!run.said.contains { $0.1.hasPrefix("YOU HAVE JUST 5 MINUTES") }, "no bottom-out hint after the tests passed")
    }

    @Test func testsNeverPassingGiveTheBottomOutHintThenTimeOut() throws {
        let run = try Self.started(until: 2400)
        let hint = run.said.filter { $0.1.hasPrefix("YOU HAVE JUST 5 MINUTES") || $0.1.hasPrefix("Two optimizations are required for this task") }
        #expect(hint.count == 2, "the bottom-out prompt is two messages, got \(hint.map(\.1))")
        Self.close(hint.first?.0, 1359.75)
        Self.close(hint.last?.0, 1359.75)
        #expect(hint.last?.1.contains("Create a denormalized table") == true)
        // The step times out and the next stage starts at once, without the step's delay.
        Self.close(run.timeOfStage("StageLO1_Discussion"), 2320.75)
        Self.close(run.timeSaid("IT'S TIME TO MOVE ON FROM TASK 1."), 2320.75)
        #expect(!run.said.contains { $0.0 > 40 && $0.0 < 2320 && $0.0 != 1359.75 }, "nothing else is said while the team works")
    }

    @Test func everyTaskTimingOutEndsOnTheAbsoluteEndStage() throws {
        let run = try Self.started(until: 7000)
        let wrapUpEnd = try #require(run.actions.first { $0.kind == .end }).time - run.launch
        #expect(wrapUpEnd > 6020 && wrapUpEnd < 6040, "WrapUp's send_end at ≈6023.6 (+5 s delay ≈ 6028.6), got \(wrapUpEnd)")
        Self.close(run.timeOfStage("EndStage"), 6060)
        let externals = run.actions.filter { $0.kind == .external("task=taskall-end") }.map { $0.time - run.launch }
        #expect(externals.count == 2)
        Self.close(externals.last, 6060)
        let submits = run.actions.filter { $0.kind == .command("submit") }.map { $0.time - run.launch }
        Self.close(submits.last, 6065)
        Self.close(run.timeSaid("I'm logging off."), 6070)
        Self.close(run.time { $0 == .postChatLog }, 6070 + 7.75 + 10)
        Self.close(run.time { $0 == .logout }, 6070 + 7.75 + 10 + 10 + 5)
        #expect(run.engine.loggedOut)
        let submission = run.said.filter {
            $0.1.hasPrefix("The time allotted") || $0.1.hasPrefix("When you are ready") || $0.1 == "Thanks for participating in today's OPE."
        }
        #expect(submission.count == 3, "PROMPT_STEP_SUBMISSION is three chat messages")
    }

    @Test func aLateJoinerGetsNoRoleUntilTheRotation() throws {
        var run = Run(plan: try BazaarReference.plan())
        run.input(.joined("Ann"), at: 0)
        run.input(.joined("Ben"), at: 0)
        run.input(.joined("Cat"), at: 40)
        run.advance(to: 800)
        let match = try #require(run.roleChanges.first)
        #expect(Set(match.1.keys) == ["Ann", "Ben"])
        #expect(Set(match.1.values) == ["Driver", "Navigator"])
        #expect(run.said.contains { $0.1.contains("[ROLE") } == false, "every role slot is filled")
        run.input(.testResult(task: "testcase-complete_1", passed: true), at: 900)
        run.advance(to: 1100)
        let rotation = try #require(run.roleChanges.last)
        #expect(rotation.2 == "rotate")
        #expect(Set(rotation.1.keys) == ["Ann", "Ben", "Cat"], "the late joiner gets a role at the rotation")
    }

    @Test func aLoneStudentLaunchesAfterTheTimeoutAsDriver() throws {
        var run = Run(plan: try BazaarReference.plan(), team: 3)
        run.input(.joined("Ann"), at: 10)
        run.advance(to: 309)
        #expect(run.engine.launchedAt == nil)
        run.advance(to: 400)
        #expect(run.engine.launchedAt == 310)
        let match = try #require(run.roleChanges.first)
        #expect(match.1 == ["Ann": "Driver"])
        #expect(run.said.contains { $0.1.contains("Ann") && $0.1.contains("Driver") }, "PROMPT_STEP_MATCH_1 names the student: \(run.said.map(\.1))")
    }

    @Test func twoStudentsSwapRolesAtEveryRotation() throws {
        var run = Run(plan: try BazaarReference.plan(), team: 2)
        run.input(.joined("Ann"), at: 0)
        run.input(.joined("Ben"), at: 0)
        run.input(.testResult(task: "testcase-complete_1", passed: true), at: 100)
        run.input(.testResult(task: "testcase-complete_2", passed: false), at: 200)
        run.advance(to: 300)
        run.input(.testResult(task: "testcase-complete_2", passed: true), at: 300)
        run.advance(to: 600)
        let changes = run.roleChanges.map(\.1)
        #expect(changes.count == 3, "match, rotate for task 2, rotate for task 3")
        for (before, after) in zip(changes, changes.dropFirst()) {
            #expect(before["Ann"] == after["Ben"] && before["Ben"] == after["Ann"], "\(before) → \(after)")
        }
    }

    @Test func sameSeedSameRun() throws {
        let a = try Self.started(until: 2000, seed: 42)
        let b = try Self.started(until: 2000, seed: 42)
        #expect(a.actions == b.actions)
    }
}

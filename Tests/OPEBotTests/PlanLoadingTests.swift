import Foundation
import OPEBot
import OPECore
import OPEModules
import Testing

/// Bad plans are refused with every problem located by file and line; nothing is skipped.
@Suite struct PlanLoadingTests {
    static func problems(_ body: () throws -> Any) -> [String] {
        do {
            _ = try body()
            Issue.record("the plan was accepted")
            return []
        } catch let error as PlanError {
            return error.problems.map(\.description)
        } catch {
            Issue.record("unexpected error \(error)")
            return []
        }
    }

    @Test func unknownStepTypesAndMissingPromptsAreReportedWithFileAndLine() throws {
        let folder = try BazaarReference.copy()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var steps = try String(contentsOfFile: folder + "/plan_steps.xml", encoding: .utf8)
        steps = steps.replacingOccurrences(
            of: #"<step type="prompt" delay="4" prompt="PROMPT_GREETING">PROMPT_GREETING</step>"#,
            with: #"<step type="dance" delay="4">DANCE</step><step type="prompt" prompt="PROMPT_MISSING">X</step>"#
        )
        steps = steps.replacingOccurrences(of: #"command="COMMAND_2""#, with: #"command="COMMAND_NONE""#)
        try steps.write(toFile: folder + "/plan_steps.xml", atomically: true, encoding: .utf8)
        let line = steps.components(separatedBy: "\n").lastIndex { $0.contains("DANCE") }! + 1
        let commandLine = steps.components(separatedBy: "\n").firstIndex { $0.contains("COMMAND_NONE") }! + 1
        let reported = Self.problems { try BazaarPlanImporter().load(folder: folder) }
        #expect(reported.count == 3, "\(reported) line \(line)")
        #expect(reported.contains { $0.hasPrefix("\(folder)/plan_steps.xml:\(line): step DANCE: step type 'dance' has no handler") }, "\(reported)")
        #expect(
            reported.contains {
                $0.hasPrefix("\(folder)/plan_steps.xml:\(line): step X: prompt id 'PROMPT_MISSING' is not defined in \(folder)/plan_prompts.xml")
            })
        #expect(reported.contains { $0.hasPrefix("\(folder)/plan_steps.xml:\(commandLine): step COMMAND_2: command id 'COMMAND_NONE' is not defined") })
    }

    @Test func malformedXMLNamesTheLine() throws {
        let folder = try BazaarReference.copy()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var prompts = try String(contentsOfFile: folder + "/plan_prompts.xml", encoding: .utf8)
        prompts = prompts.replacingOccurrences(of: "</prompt>", with: "</prompts>", options: [], range: prompts.range(of: "</prompt>"))
        try prompts.write(toFile: folder + "/plan_prompts.xml", atomically: true, encoding: .utf8)
        let reported = Self.problems { try BazaarPlanImporter().load(folder: folder) }
        #expect(reported.count == 1)
        #expect(reported.first?.hasPrefix("\(folder)/plan_prompts.xml:") == true && reported.first?.contains("not valid XML") == true, "\(reported)")
    }

    @Test func nativePlanProblemsAreAllReportedTogether() throws {
        let yaml = """
            name: Broken
            stages:
              - name: one
                steps:
                  - say: hello
                    delay: soon
                  - prompt: NOT_THERE
                  - dance: true
                  - say: hi
                    command: task1
            triggers:
              - on: weather
                say: nice
            """
        let reported = Self.problems { try PlanParser().parse(yaml: yaml, file: "plan.yaml") }
        #expect(reported.count == 5, "\(reported)")
        #expect(reported.contains { $0.hasPrefix("plan.yaml:6:") && $0.contains("stages[0].steps[0].delay: expected a duration") })
        #expect(reported.contains { $0.hasPrefix("plan.yaml:7:") && $0.contains("no prompt 'NOT_THERE'") })
        #expect(reported.contains { $0.hasPrefix("plan.yaml:8:") && $0.contains("unknown field") })
        #expect(reported.contains { $0.hasPrefix("plan.yaml:9:") && $0.contains("a step does one thing; this one has say and command") })
        #expect(reported.contains { $0.hasPrefix("plan.yaml:12:") && $0.contains("unknown trigger 'weather'") })
    }

    @Test func aPlanWaitingForAMissingTaskIsRefusedWithItsModule() throws {
        let folder = NSTemporaryDirectory() + "ope-module-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let examples =
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path + "/examples/modules"
        try FileManager.default.copyItem(atPath: examples + "/python-intro", toPath: folder)
        var plan = try String(contentsOfFile: folder + "/bot/guide.yaml", encoding: .utf8)
        plan = plan.replacingOccurrences(of: "task: run-length", with: "task: run-lenght")
        try plan.write(toFile: folder + "/bot/guide.yaml", atomically: true, encoding: .utf8)
        let line = plan.components(separatedBy: "\n").firstIndex { $0.contains("run-lenght") }!
        let report = ModuleLoader().load(path: folder)
        #expect(report.modules.isEmpty)
        let message = try #require(report.errors.first?.description)
        #expect(message.contains("guide.yaml:\(line):"), "the gate step's line: \(message)")
        #expect(message.contains("the plan waits for task 'run-lenght', but module 'python-intro' has no such task (tasks: text-stats, run-length)"))
    }

    @Test func theBazaarPlanBindsToAModuleByTaskNumber() throws {
        let plan = try BazaarReference.plan()
        let module = Module(
            id: "sql-ope", title: "SQL", kit: .sql, roles: ["driver", "navigator", "researcher"],
            tasks: (1...3).map { ModuleTask(id: "task-\($0)", title: "Task \($0)", instructions: "…") }, folder: "/tmp"
        )
        let bound = try PlanLoader().bind(plan, to: module)
        #expect(bound.gateTargets == ["task-1", "task-2", "task-3"])
        let twoTasks = Module(id: "short", title: "S", kit: .sql, tasks: [ModuleTask(id: "a", title: "A", instructions: "…")], folder: "/tmp")
        let reported = Self.problems { try PlanLoader().bind(plan, to: twoTasks) }
        #expect(reported.count == 2, "testcase-complete_2 and _3 have no task: \(reported)")
        let noResearcher = Module(id: "duo", title: "D", kit: .sql, roles: ["driver", "navigator"], tasks: module.tasks, folder: "/tmp")
        #expect(Self.problems { try PlanLoader().bind(plan, to: noResearcher) }.contains { $0.contains("role 'Researcher'") })
    }
}

/// Triggers and experiment assignment on the pure engine.
@Suite struct PlanTriggerTests {
    static let plan = """
        name: Triggers
        readingSpeed: 0
        launch: {members: 2}
        stages:
          - name: work
            steps:
              - gate:
                  task: t1
                  timeout: 20m
                  hints:
                    - {after: 5m, say: "hint one"}
                  passed: "passed!"
                  timedOut: "time is up"
              - say: "next task"
        triggers:
          - {on: keyword, words: [help, "no idea"], say: "help is here, [NAME]", cooldown: 1m}
          - {on: idle, after: 3m, say: "quiet?"}
          - {on: testFailures, task: t1, count: 2, say: "[TASK] failed twice"}
          - {on: lateJoin, say: "welcome [NAME]"}
          - {on: leave, say: "bye [NAME]"}
        """

    static func said(_ actions: [PlanEngine.Action]) -> [String] {
        actions.compactMap { if case .say(let text, _) = $0.kind { text } else { nil } }
    }

    @Test func triggersReactToTheTeam() throws {
        let plan = try PlanParser().parse(yaml: Self.plan, file: "t.yaml")
        var engine = PlanEngine(plan: plan, teamSize: 2, seed: 1)
        _ = engine.handle(.joined("ann"), at: 0)
        #expect(engine.launchedAt == nil, "waits for two members")
        _ = engine.handle(.joined("ben"), at: 1)
        #expect(engine.launchedAt == 1)
        #expect(Self.said(engine.handle(.chat(user: "ann", text: "Help! no idea"), at: 10)) == ["help is here, ann"])
        #expect(Self.said(engine.handle(.chat(user: "ben", text: "help"), at: 30)).isEmpty, "cooldown")
        #expect(Self.said(engine.handle(.chat(user: "ben", text: "helpful"), at: 80)).isEmpty, "whole words only")
        #expect(Self.said(engine.handle(.testResult(task: "t1", passed: false), at: 90)).isEmpty)
        #expect(Self.said(engine.handle(.testResult(task: "t1", passed: false), at: 95)) == ["t1 failed twice"])
        // No chat or edits for 3 minutes after the last activity (95 s).
        #expect(Self.said(engine.advance(to: 95 + 179)).isEmpty)
        #expect(Self.said(engine.advance(to: 95 + 181)) == ["quiet?"])
        #expect(Self.said(engine.advance(to: 95 + 400)).contains("quiet?") == false, "once per quiet spell")
        #expect(Self.said(engine.handle(.edit, at: 500)).isEmpty)
        #expect(Self.said(engine.advance(to: 500 + 181)).contains("quiet?"))
        #expect(Self.said(engine.handle(.joined("cat"), at: 700)) == ["welcome cat"])
        #expect(Self.said(engine.handle(.left("ben"), at: 710)) == ["bye ben"])
        #expect(Self.said(engine.handle(.testResult(task: "t1", passed: true), at: 720)) == ["passed!", "next task"])
    }

    /// A student alone is not told to "solve together" or that "roles rotate": plans say things
    /// for team sizes with `when: {team: ...}` on stages, steps and triggers.
    @Test func stepsStagesAndTriggersCanDependOnTheTeamSize() throws {
        let yaml = """
            name: Sizes
            readingSpeed: 0
            stages:
              - name: hello
                steps:
                  - say: together
                    when: {team: "2+"}
                    delay: 5s
                  - say: alone
                    when: {team: 1}
                    delay: 5s
                  - say: done
              - name: pairs only
                when: {team: "2-3"}
                delay: 100s
                steps:
                  - rotateRoles: "swap: [ROLES]"
              - name: last
                steps:
                  - say: bye
            triggers:
              - {on: keyword, words: [help], say: ask your team, when: {team: "2+"}}
              - {on: keyword, words: [help], say: ask me, when: {team: 1}}
            """
        let plan = try PlanParser().parse(yaml: yaml, file: "sizes.yaml")
        func run(_ members: [String], teamSize: Int) -> [String] {
            var engine = PlanEngine(plan: plan, teamSize: teamSize, seed: 3)
            var said: [String] = []
            for member in members { said += Self.said(engine.handle(.joined(member), at: 0)) }
            said += Self.said(engine.advance(to: 6))
            said += Self.said(engine.handle(.chat(user: members[0], text: "help"), at: 7))
            said += Self.said(engine.advance(to: 200))
            return said
        }
        // Skipped steps and stages take their pauses with them: "bye" follows "done" at once, not
        // after the skipped stage's 100 s (it would come after "ask me").
        #expect(run(["ann"], teamSize: 1) == ["alone", "done", "bye", "ask me"])
        #expect(run(["ann", "ben"], teamSize: 2).prefix(2) == ["together", "done"])
        #expect(run(["ann", "ben"], teamSize: 2).contains("ask your team"))
        #expect(run(["ann", "ben"], teamSize: 2).contains { $0.hasPrefix("swap:") })
        #expect(run(["ann", "ben", "cat", "dan"], teamSize: 4).contains { $0.hasPrefix("swap:") } == false)

        // A late joiner makes a team of one a pair.
        var engine = PlanEngine(plan: plan, teamSize: 1, seed: 3)
        _ = engine.handle(.joined("ann"), at: 0)
        _ = engine.advance(to: 1)
        _ = engine.handle(.joined("ben"), at: 2)
        #expect(Self.said(engine.handle(.chat(user: "ben", text: "help"), at: 3)) == ["ask your team"])

        let bad = """
            name: Bad sizes
            stages:
              - steps:
                  - say: hi
                    when: {team: 0}
                  - say: ho
                    when: {team: "3-2"}
                  - say: hu
                    when: {size: 2}
            """
        let reported = PlanLoadingTests.problems { try PlanParser().parse(yaml: bad, file: "bad.yaml") }
        #expect(reported.count == 3, "\(reported)")
        #expect(reported.contains { $0.hasPrefix("bad.yaml:5:") && $0.contains("expected a team size like 1") })
        #expect(reported.contains { $0.hasPrefix("bad.yaml:7:") && $0.contains("expected a team size like 1") })
        #expect(reported.contains { $0.hasPrefix("bad.yaml:9:") && $0.contains("unknown field") })
    }

    @Test func aGateHintsAndTimesOut() throws {
        let plan = try PlanParser().parse(yaml: Self.plan, file: "t.yaml")
        var engine = PlanEngine(plan: plan, teamSize: 2, seed: 1)
        _ = engine.handle(.joined("ann"), at: 0)
        _ = engine.handle(.joined("ben"), at: 0)
        _ = engine.handle(.chat(user: "ann", text: "let's go"), at: 1)
        let timeline = engine.advance(to: 1300).compactMap { action -> String? in
            if case .say(let text, _) = action.kind { return "\(Int(action.time)) \(text)" }
            return nil
        }
        #expect(timeline == ["181 quiet?", "300 hint one", "1200 time is up", "1200 next task"])
    }

    @Test func experimentConditionsAreBalancedAndReproducible() {
        let experiment = Experiment(seed: 2026, conditions: ["a", "b", "c"].map { Experiment.Condition(name: $0) })
        let sequence = (0..<60).map { ExperimentAssigner.condition(index: $0, of: experiment) }
        for block in stride(from: 0, to: 60, by: 6) {
            let counts = Dictionary(grouping: sequence[block..<block + 6], by: { $0 }).mapValues(\.count)
            #expect(counts == ["a": 2, "b": 2, "c": 2], "block at \(block): \(counts)")
        }
        for prefix in 1...60 {
            let counts = Dictionary(grouping: sequence.prefix(prefix), by: { $0 }).mapValues(\.count)
            #expect((counts.values.max() ?? 0) - (counts.values.min() ?? 0) <= 2 || counts.count < 3)
        }
        #expect(sequence == (0..<60).map { ExperimentAssigner.condition(index: $0, of: experiment) })
        let other = Experiment(seed: 7, conditions: experiment.conditions)
        #expect(sequence != (0..<60).map { ExperimentAssigner.condition(index: $0, of: other) }, "the seed matters")
    }
}

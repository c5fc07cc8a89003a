import Foundation
import OPEBot
import OPECore
import OPEModules
import Testing

/// Triggers on how the team works (`silent`, `editShare`, `driverIdle`, `repeatedError`), on the
/// pure engine with a manual clock: each fires when it should and not a second before, keeps its
/// cooldown, and names the right member.
@Suite struct BehaviourTriggerTests {
    /// A plan that waits an hour for a task, with `triggers` (YAML list entries) beside it.
    static func plan(_ triggers: String, roles: String = "[Driver, Navigator]") throws -> BotPlan {
        try PlanParser().parse(
            yaml: """
                name: Behaviour
                readingSpeed: 0
                roles: \(roles)
                stages:
                  - name: work
                    steps:
                      - gate: {task: t, timeout: 1h}
                triggers:
                \(triggers)
                """, file: "behaviour.yaml")
    }

    /// An engine with `members` present from second 0 (so launched at 0).
    static func engine(_ plan: BotPlan, members: [String] = ["ann", "ben"], driverRole: String? = nil) -> PlanEngine {
        var engine = PlanEngine(plan: plan, teamSize: members.count, seed: 1, driverRole: driverRole)
        for member in members { _ = engine.handle(.joined(member), at: 0) }
        // The first stage starts (the gate opens) at second 0.
        _ = engine.advance(to: 0)
        return engine
    }

    static func said(_ actions: [PlanEngine.Action]) -> [String] { PlanFleetTests.said(actions) }

    /// `second text` for every message.
    static func timeline(_ actions: [PlanEngine.Action]) -> [String] {
        actions.compactMap { if case .say(let text, _) = $0.kind { "\(Int($0.time)) \(text)" } else { nil } }
    }

    // MARK: silent

    @Test func aSilentMemberIsNamedOnceTheSessionHasRunThatLongAndNotBefore() throws {
        let plan = try Self.plan("  - {on: silent, after: 5m, say: \"[NAME], [MINUTES] minutes without a word?\"}")
        var engine = Self.engine(plan)
        // One timer at the earliest moment anyone can have been silent 5 minutes: nothing else to poll.
        #expect(engine.nextDeadline == 300)
        #expect(Self.said(engine.handle(.chat(user: "ann", text: "hi"), at: 60)).isEmpty)
        #expect(Self.said(engine.advance(to: 299.9)).isEmpty, "the session has not run 5 minutes yet")
        // Ben never wrote: named at 5 minutes after the launch; Ann wrote at 60 s, so not her.
        #expect(Self.timeline(engine.advance(to: 300)) == ["300 ben, 5 minutes without a word?"])
        #expect(engine.nextDeadline == 360)
        #expect(Self.timeline(engine.advance(to: 400)) == ["360 ann, 5 minutes without a word?"])
        // Once per silence: nothing more until someone writes and goes quiet again.
        #expect(engine.nextDeadline == 3600, "only the gate's timeout is left")
        #expect(Self.said(engine.advance(to: 1000)).isEmpty)
        _ = engine.handle(.chat(user: "ben", text: "back"), at: 1000)
        #expect(Self.timeline(engine.advance(to: 1400)) == ["1300 ben, 5 minutes without a word?"])
    }

    @Test func silenceCountsOnlyWhilePresentAndKeepsTheCooldown() throws {
        let plan = try Self.plan("  - {on: silent, after: 5m, cooldown: 2m, say: \"[NAME]?\"}")
        var engine = Self.engine(plan, members: ["ann", "ben", "cat"])
        _ = engine.handle(.left("cat"), at: 100)
        // Ann and Ben are both silent at 300; the cooldown lets one be named, the other 2 minutes on.
        #expect(Self.timeline(engine.advance(to: 300)) == ["300 ann?"])
        #expect(engine.nextDeadline == 420)
        #expect(Self.said(engine.advance(to: 419)).isEmpty)
        #expect(Self.timeline(engine.advance(to: 420)) == ["420 ben?"])
        // Cat left: not named. Coming back, her silence counts from her return.
        _ = engine.handle(.joined("cat"), at: 500)
        #expect(Self.said(engine.advance(to: 799)).isEmpty)
        #expect(Self.timeline(engine.advance(to: 800)) == ["800 cat?"])
    }

    @Test func silenceTriggersFollowTheTeamSize() throws {
        let plan = try Self.plan("  - {on: silent, after: 1m, say: \"[NAME]?\", when: {team: \"2+\"}}")
        var alone = Self.engine(plan, members: ["ann"])
        #expect(Self.said(alone.advance(to: 600)).isEmpty, "a student alone is not asked to speak up")
        var pair = Self.engine(plan)
        #expect(Self.said(pair.advance(to: 60)) == ["ann?", "ben?"], "without a cooldown each silent member is named")
    }

    // MARK: editShare

    @Test func oneMemberMakingMostEditsIsNamedOncePerSpell() throws {
        let plan = try Self.plan("  - {on: editShare, above: 70, window: 10m, minUpdates: 20, say: \"[NAME] made [SHARE]\"}")
        var engine = Self.engine(plan)
        #expect(engine.nextDeadline == 3600, "edit shares are decided when edits arrive: no timer")
        #expect(Self.said(engine.handle(.edited(user: "ann", updates: 15), at: 10)).isEmpty, "fewer than 20 updates: too early to tell")
        #expect(Self.said(engine.handle(.edited(user: "ben", updates: 4), at: 20)).isEmpty, "19 updates")
        // 16 of 20 is 80%: named at the edit that makes the count reach the minimum.
        #expect(Self.said(engine.handle(.edited(user: "ann", updates: 1), at: 30)) == ["ann made 80%"])
        #expect(Self.said(engine.handle(.edited(user: "ann", updates: 10), at: 40)).isEmpty, "the same spell")
        // Ben catches up (ann 26 of 50): the spell is over, and the next one is named again.
        #expect(Self.said(engine.handle(.edited(user: "ben", updates: 20), at: 50)).isEmpty)
        #expect(Self.said(engine.handle(.edited(user: "ann", updates: 60), at: 60)) == ["ann made 78%"])
        // Exactly at the line is not above it.
        var even = Self.engine(plan)
        _ = even.handle(.edited(user: "ann", updates: 14), at: 10)
        #expect(Self.said(even.handle(.edited(user: "ben", updates: 6), at: 20)).isEmpty, "70% is not above 70%")
    }

    @Test func editSharesCountOnlyTheWindowAndNeedTwoMembers() throws {
        let plan = try Self.plan("  - {on: editShare, above: 70, window: 5m, minUpdates: 10, cooldown: 10m, say: \"[NAME] made [SHARE]\"}")
        var engine = Self.engine(plan)
        #expect(Self.said(engine.handle(.edited(user: "ben", updates: 8), at: 0)).isEmpty)
        #expect(Self.said(engine.handle(.edited(user: "ann", updates: 2), at: 200)) == ["ben made 80%"])
        // Ben's updates fall out of the 5-minute window: Ann's are all that count, but the cooldown holds.
        #expect(Self.said(engine.handle(.edited(user: "ann", updates: 10), at: 301)).isEmpty)
        // At 801 only the last 10 updates are in the window, all Ann's; the cooldown (from 200) is over.
        #expect(Self.said(engine.handle(.edited(user: "ann", updates: 10), at: 801)) == ["ann made 100%"])
        var alone = Self.engine(plan, members: ["ann"])
        #expect(Self.said(alone.handle(.edited(user: "ann", updates: 50), at: 10)).isEmpty, "alone, all edits are one member's")
    }

    // MARK: driverIdle

    @Test func aDriverWhoRunsNothingIsNamedAndNotTheNavigator() throws {
        let plan = try Self.plan("  - {on: driverIdle, after: 4m, say: \"[NAME], run it\"}")
        var engine = Self.engine(plan)
        #expect(engine.nextDeadline == 3600, "no driver yet: nothing to wait for")
        _ = engine.handle(.rolesChanged(["ann": "Driver", "ben": "Navigator"]), at: 30)
        #expect(engine.driver == "ann")
        #expect(engine.nextDeadline == 270)
        // The navigator's runs do not count for the driver.
        _ = engine.handle(.executed(.init(user: "ben", outcome: "ok")), at: 100)
        // A refused run reached no kernel.
        _ = engine.handle(.executed(.init(user: "ann", outcome: "refused")), at: 110)
        #expect(Self.said(engine.advance(to: 269)).isEmpty)
        #expect(Self.timeline(engine.advance(to: 270)) == ["270 ann, run it"])
        // Her run starts a new spell.
        _ = engine.handle(.executed(.init(user: "ann", outcome: "error", errorName: "NameError")), at: 300)
        #expect(engine.nextDeadline == 540)
        // A rotation: the new driver's time counts from the rotation; ann is not named again.
        _ = engine.handle(.rolesChanged(["ann": "Navigator", "ben": "Driver"]), at: 400)
        #expect(Self.said(engine.advance(to: 639)).isEmpty)
        #expect(Self.timeline(engine.advance(to: 700)) == ["640 ben, run it"])
    }

    @Test func theDriverIsTheHolderOfTheGivenRoleAndTheCooldownHolds() throws {
        let plan = try Self.plan("  - {on: driverIdle, after: 1m, cooldown: 5m, say: \"[NAME], run it\"}", roles: "[Typist, Reviewer]")
        // The platform names the module's first role; here the plan's second.
        var engine = Self.engine(plan, driverRole: "reviewer")
        _ = engine.handle(.rolesChanged(["ann": "Typist", "ben": "Reviewer"]), at: 0)
        #expect(Self.timeline(engine.advance(to: 60)) == ["60 ben, run it"])
        _ = engine.handle(.rolesChanged(["ann": "Reviewer", "ben": "Typist"]), at: 90)
        // Ann's minute is up at 150, the cooldown at 360.
        #expect(Self.said(engine.advance(to: 359)).isEmpty)
        #expect(Self.timeline(engine.advance(to: 360)) == ["360 ann, run it"])
        // A driver who leaves is not watched; whoever holds the role and is present is.
        _ = engine.handle(.left("ann"), at: 400)
        #expect(engine.driver == nil)
    }

    // MARK: repeatedError

    static func error(_ user: String, _ name: String, _ value: String, cell: String? = "c1") -> PlanEngine.Input {
        .executed(PlanEngine.Execution(user: user, outcome: "error", errorName: name, errorValue: value, cell: cell))
    }

    @Test func theSameErrorThreeTimesInARowIsNamed() throws {
        let plan = try Self.plan("  - {on: repeatedError, count: 3, say: \"[ERROR] x[COUNT], [NAME]\"}")
        var engine = Self.engine(plan)
        #expect(Self.said(engine.handle(Self.error("ann", "NameError", "name 'x' is not defined"), at: 10)).isEmpty)
        #expect(Self.said(engine.handle(Self.error("ben", "NameError", "name 'y' is not defined", cell: "c5"), at: 20)).isEmpty, "another message")
        #expect(Self.said(engine.handle(Self.error("ben", "NameError", "name 'x' is not defined", cell: "c2"), at: 30)).isEmpty)
        #expect(
            Self.said(engine.handle(Self.error("ben", "NameError", "name 'x' is not defined", cell: "c3"), at: 40)) == [
                "NameError: name 'x' is not defined x3, ben"
            ])
        // Counted afresh after speaking; a clean run of a cell clears its errors.
        _ = engine.handle(Self.error("ann", "NameError", "name 'x' is not defined"), at: 50)
        _ = engine.handle(Self.error("ann", "NameError", "name 'x' is not defined"), at: 60)
        _ = engine.handle(.executed(.init(user: "ann", outcome: "ok", cell: "c1")), at: 70)
        #expect(Self.said(engine.handle(Self.error("ann", "NameError", "name 'x' is not defined"), at: 80)).isEmpty, "not in a row")
        // So does a different error in that cell.
        _ = engine.handle(Self.error("ann", "NameError", "name 'x' is not defined"), at: 90)
        _ = engine.handle(Self.error("ann", "TypeError", "unsupported operand"), at: 100)
        #expect(Self.said(engine.handle(Self.error("ann", "NameError", "name 'x' is not defined"), at: 110)).isEmpty)
        #expect(Self.said(engine.handle(Self.error("ann", "NameError", "name 'x' is not defined"), at: 120)).isEmpty)
        #expect(Self.said(engine.handle(Self.error("ann", "NameError", "name 'x' is not defined"), at: 130)).count == 1)
    }

    @Test func repeatedErrorsRespectTheirWindowCooldownAndCellMatching() throws {
        let plan = try Self.plan(
            """
              - {on: repeatedError, count: 2, within: 1m, cooldown: 5m, say: "again: [ERROR]"}
              - {on: repeatedError, count: 2, same: cell, say: "cell: [ERROR]"}
            """)
        var engine = Self.engine(plan)
        _ = engine.handle(Self.error("ann", "ValueError", "a"), at: 0)
        // Same cell, other message: only `same: cell` counts it; 61 s on, the window has passed.
        #expect(Self.said(engine.handle(Self.error("ann", "ValueError", "b"), at: 61)) == ["cell: ValueError: b"])
        _ = engine.handle(Self.error("ann", "KeyError", "'k'", cell: "c9"), at: 100)
        #expect(Self.said(engine.handle(Self.error("ann", "KeyError", "'k'", cell: "c9"), at: 130)) == ["again: KeyError: 'k'", "cell: KeyError: 'k'"])
        _ = engine.handle(Self.error("ann", "IndexError", "i", cell: "c8"), at: 200)
        #expect(Self.said(engine.handle(Self.error("ann", "IndexError", "i", cell: "c8"), at: 210)) == ["cell: IndexError: i"], "cooldown")
        // After the cooldown, two more in the window speak again.
        _ = engine.handle(Self.error("ann", "IndexError", "i", cell: "c7"), at: 440)
        #expect(Self.said(engine.handle(Self.error("ann", "IndexError", "i", cell: "c7"), at: 450)) == ["again: IndexError: i", "cell: IndexError: i"])
    }

    // MARK: The fleet, the simulator, the parser

    /// A quiet trigger puts its own deadline in the fleet: it fires on the tick at its time with no
    /// other traffic, and a fleet of waiting bots is not asked before.
    @Test func quietTriggersWakeTheFleetOnTheirOwn() throws {
        let plan = try Self.plan("  - {on: silent, after: 5m, say: \"[NAME]?\"}")
        let origin = Date(timeIntervalSince1970: 1_800_000_000)
        var fleet = PlanFleet()
        for index in 0..<100 { fleet.add("s\(index)", engine: Self.engine(plan), origin: origin) }
        let calls = fleet.engineCalls
        #expect(fleet.takeDue(at: origin.addingTimeInterval(299)).isEmpty)
        #expect(fleet.engineCalls == calls)
        let due = fleet.takeDue(at: origin.addingTimeInterval(300.1))
        #expect(due.count == 100)
        #expect(Self.said(fleet.advance(due[0], to: origin.addingTimeInterval(300.1))) == ["ann?", "ben?"])
    }

    @Test func theSimulatorPlaysAScriptedActivity() throws {
        let plan = try Self.plan("  - {on: driverIdle, after: 2m, say: \"[NAME], run it\"}")
        let script = try ActivityScriptParser().parse(
            text: """
                {"at": 10, "roles": {"Ann": "Driver", "Ben": "Navigator"}}
                {"at": "1m", "execute": "Ann", "outcome": "ok", "cell": "c1"}

                {"at": 70, "chat": "Ben", "text": "nice"}
                """, file: "a.jsonl")
        #expect(script.entries.map(\.location.line) == [1, 2, 4])
        let actions = PlanSimulator().run(plan, options: .init(members: 2, until: 300, activity: script))
        let lines = actions.map(PlanSimulator.line)
        #expect(lines.contains("   180.00  trigger driverIdle: Ann, 2 min driving without running code"), "\(lines)")
        #expect(lines.contains("   180.00  say     [trigger1] Ann, run it"))
    }

    @Test func badTriggersAreRefusedWithFileLineAndField() throws {
        let yaml = """
            name: Bad
            stages:
              - steps:
                  - say: hi
            triggers:
              - {on: silent, after: -5m, say: x}
              - {on: editShare, above: 150, say: x}
              - {on: editShare, above: 70, windows: 10m, say: x}
              - {on: driverIdle, words: [a], after: 1m, say: x}
              - {on: repeatedError, count: 1, say: x}
              - {on: repeatedError, same: line, say: x}
              - {on: silent, say: x}
              - {on: editShare, above: 70, window: 0, say: x}
              - {on: editShare, above: lots, say: x}
            """
        let reported = PlanLoadingTests.problems { try PlanParser().parse(yaml: yaml, file: "bad.yaml") }
        #expect(reported.count == 9, "\(reported)")
        let expected = [
            "bad.yaml:6:25: triggers[0].after: must not be negative (got -5m)",
            "bad.yaml:7:28: triggers[1].above: a percentage from 0 to below 100 (nobody makes more than 100% of the edits); got 150",
            "bad.yaml:8:32: triggers[2].windows: unknown field",
            "bad.yaml:9:29: triggers[3].words: does not apply to 'driverIdle' triggers (their own fields: after)",
            "bad.yaml:10:32: triggers[4].count: at least 2 (an error seen once is not repeated)",
            "bad.yaml:11:31: triggers[5].same: unknown value 'line' (expected one of: message, cell)",
            "bad.yaml:12:5: triggers[6].after: required field is missing",
            "bad.yaml:13:40: triggers[7].window: must be longer than zero",
            "bad.yaml:14:28: triggers[8].above: expected a percentage, e.g. 70",
        ]
        for line in expected {
            #expect(reported.contains { $0.hasPrefix(line) }, "missing \(line) in \(reported)")
        }
    }

    @Test func badActivityFilesAreRefusedWithFileAndLine() throws {
        let yaml = """
            - {at: 10s, chat: Ann}
            - {at: -1m, join: Ann}
            - {at: 1m, edit: Ann, updates: 0}
            - {at: 1m, execute: Ann, outcome: crashed}
            - {at: 1m, chat: Ann, text: hi, leave: Ann}
            - {at: 1m, dance: Ann}
            """
        let reported = PlanLoadingTests.problems { try ActivityScriptParser().parse(text: yaml, file: "a.yaml") }
        #expect(reported.count == 6, "\(reported)")
        for prefix in ["a.yaml:1:", "a.yaml:2:", "a.yaml:3:", "a.yaml:4:", "a.yaml:5:", "a.yaml:6:"] {
            #expect(reported.contains { $0.hasPrefix(prefix) }, "nothing at \(prefix) in \(reported)")
        }
        #expect(reported.contains { $0.contains("must not be negative") })
        #expect(reported.contains { $0.contains("unknown outcome 'crashed'") })
        let jsonl = PlanLoadingTests.problems {
            try ActivityScriptParser().parse(text: "{\"at\": 1, \"chat\": \"Ann\", \"text\": \"a\"}\n{\"at\": 2,", file: "a.jsonl")
        }
        #expect(jsonl.count == 1 && jsonl[0].hasPrefix("a.jsonl:2:"), "\(jsonl)")
    }
}

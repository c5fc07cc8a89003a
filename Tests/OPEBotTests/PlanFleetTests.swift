import Foundation
import OPEBot
import OPECore
import OPEModules
import Testing

/// Many bots on one timeline: a tick runs only the bots that are due, a bot due at T runs at T,
/// launches of teams that complete together are spread over the launch window, and a replay after
/// a restart comes to the same decisions.
@Suite struct PlanFleetTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// Says hello, then waits up to `gate` seconds for a task's tests.
    static func waiting(gate: String) throws -> BotPlan {
        try PlanParser().parse(
            yaml: """
                name: Waiting
                readingSpeed: 0
                stages:
                  - name: work
                    steps:
                      - say: "Hello [NAMES]."
                      - gate:
                          task: t
                          timedOut: "Time is up."
                        timeout: \(gate)
                """, file: "waiting.yaml"
        )
    }

    static func said(_ actions: [PlanEngine.Action]) -> [String] {
        actions.compactMap { if case .say(let text, _) = $0.kind { text } else { nil } }
    }

    @Test func aTickRunsOnlyTheBotsThatAreDueNotTheThousandsThatWait() throws {
        let slow = try Self.waiting(gate: "25m")
        let quick = try Self.waiting(gate: "1m")
        var fleet = PlanFleet()
        for index in 0..<2000 {
            fleet.add("s\(index)", engine: PlanEngine(plan: slow, teamSize: 1, seed: UInt64(index)), origin: start)
            _ = fleet.handle(.joined("u\(index)"), for: "s\(index)", at: start)
        }
        fleet.add("quick", engine: PlanEngine(plan: quick, teamSize: 1, seed: 1), origin: start)
        _ = fleet.handle(.joined("q"), for: "quick", at: start)
        // Launched; the first stage starts on its timer (its delay, 0): every bot is due once now.
        let launching = fleet.takeDue(at: start)
        #expect(launching.count == 2001)
        for id in launching { _ = fleet.advance(id, to: start) }
        #expect(fleet.deadline(of: "s7") == start.addingTimeInterval(1500))
        #expect(fleet.nextDeadline() == start.addingTimeInterval(60))
        let calls = fleet.engineCalls
        #expect(calls == 2 * 2001)

        // A minute of ticks, four a second: nobody is due, so no engine is called.
        var tick = start
        while tick < start.addingTimeInterval(59.999) {
            tick = tick.addingTimeInterval(0.25)
            #expect(fleet.takeDue(at: min(tick, start.addingTimeInterval(59.999))).isEmpty)
        }
        #expect(fleet.engineCalls == calls, "2,000 waiting bots cost no engine call")

        // The one due at second 60 runs at second 60 exactly, alone.
        let due = fleet.takeDue(at: start.addingTimeInterval(60))
        #expect(due == ["quick"])
        let actions = fleet.advance("quick", to: start.addingTimeInterval(60))
        #expect(Self.said(actions) == ["Time is up."])
        #expect(actions.allSatisfy { $0.time == 60 })
        #expect(fleet.engineCalls == calls + 1)

        // At 25 minutes all the others are due together, once each.
        let later = fleet.takeDue(at: start.addingTimeInterval(1500))
        #expect(later.count == 2000 && Set(later).count == 2000)
        for id in later.prefix(3) { #expect(Self.said(fleet.advance(id, to: start.addingTimeInterval(1500))) == ["Time is up."]) }
    }

    @Test func teamsThatCompleteTogetherLaunchSpreadOverTheWindowTheSameWayEveryTime() throws {
        let plan = try Self.waiting(gate: "25m")
        let sessions = (0..<5000).map { "session-\($0)" }
        let offsets = sessions.map { PlanEngine.launchOffset(session: $0) }
        #expect(offsets == sessions.map { PlanEngine.launchOffset(session: $0) }, "the same offsets for the same sessions")
        #expect(offsets.allSatisfy { $0 >= 0 && $0 < PlanEngine.launchWindow })
        // Evenly spread: every tenth of the window holds about a tenth of the launches.
        let tenths = Dictionary(grouping: offsets) { Int($0 * 10) }.mapValues(\.count)
        #expect(tenths.count == 10 && tenths.values.allSatisfy { (400...600).contains($0) }, "\(tenths)")

        // 5,000 teams formed in one lobby tick, both members in the room at the same millisecond.
        var fleet = PlanFleet()
        var launched: [String: Double] = [:]
        for (session, offset) in zip(sessions, offsets) {
            fleet.add(session, engine: PlanEngine(plan: plan, teamSize: 2, seed: 1, launchDelay: offset), origin: start)
            for user in ["a", "b"] {
                for action in fleet.handle(.joined(user), for: session, at: start) where action.kind == .launched { launched[session] = action.time }
            }
        }
        // Milliseconds on the clock: the bots due in each run, and when.
        var perMillisecond: [Int] = []
        for millisecond in 0...1000 {
            let now = start.addingTimeInterval(Double(millisecond) / 1000)
            let due = fleet.takeDue(at: now)
            perMillisecond.append(due.count)
            for session in due {
                for action in fleet.advance(session, to: now) where action.kind == .launched { launched[session] = action.time }
            }
        }
        #expect(launched.count == 5000)
        for (session, offset) in zip(sessions, offsets) { #expect(launched[session] == offset, "launched at its own offset") }
        #expect(perMillisecond.max() ?? 0 <= 20, "about 5 launches a millisecond, not 5,000 in one")
        #expect(perMillisecond.filter { $0 > 0 }.count > 600)
    }

    @Test func aLaunchOnThePlansOwnTimeoutIsNotDelayed() throws {
        let plan = try Self.waiting(gate: "25m")
        var engine = PlanEngine(plan: plan, teamSize: 2, seed: 1, launchDelay: 0.7)
        _ = engine.handle(.joined("a"), at: 0)
        #expect(engine.nextDeadline == 120, "the default launch timeout, two minutes after the first arrival")
        let actions = engine.advance(to: 120)
        #expect(actions.first?.kind == .launched && actions.first?.time == 120)
        // Without a delay the engine launches when the team is complete, as Bazaar does.
        var immediate = PlanEngine(plan: plan, teamSize: 2, seed: 1)
        _ = immediate.handle(.joined("a"), at: 0)
        #expect(immediate.handle(.joined("b"), at: 3).first?.kind == .launched)
    }

    /// The live bot runs on ticks and inputs; `BotService.restore()` replays the recorded events
    /// (every input and every bot event, at the times they were recorded) into a fresh engine with
    /// the same seed and launch offset. The replay decides the same things at the same seconds.
    @Test func aReplayOfTheRecordedEventsComesToTheSameDecisions() throws {
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let plan = try PlanLoader().load(path: examples.path + "/examples/modules/python-intro/bot/guide.yaml")
        let session = "3f2a9c1e-restore"
        let offset = PlanEngine.launchOffset(session: session)
        func fresh() -> PlanEngine { PlanEngine(plan: plan, teamSize: 2, seed: SeededGenerator.seed(session), launchDelay: offset) }
        let inputs: [(Double, PlanEngine.Input)] = [
            (0.4, .joined("alice")), (1.3, .joined("bob")), (40, .chat(user: "alice", text: "we are stuck")), (300, .edit),
            (610, .testResult(task: "text-stats", passed: true)), (900, .left("bob")), (905, .joined("bob")),
        ]
        // Live: a tick every 250 ms, inputs as they come; what the bot does is recorded at the tick's time.
        var fleet = PlanFleet()
        fleet.add(session, engine: fresh(), origin: start)
        var live: [PlanEngine.Action] = []
        var recorded: [(time: Double, input: PlanEngine.Input?)] = []
        var pending = inputs[...]
        var tick = 0.0
        while tick <= 1200 {
            while let next = pending.first, next.0 <= tick {
                pending.removeFirst()
                let (time, input) = next
                recorded.append((time, input))
                let actions = fleet.handle(input, for: session, at: start.addingTimeInterval(time))
                live += actions
                if !actions.isEmpty { recorded.append((time, nil)) }
            }
            for due in fleet.takeDue(at: start.addingTimeInterval(tick)) {
                let actions = fleet.advance(due, to: start.addingTimeInterval(tick))
                live += actions
                if !actions.isEmpty { recorded.append((tick, nil)) }
            }
            tick += 0.25
        }
        #expect(live.first?.kind == .launched)
        #expect(abs((live.first?.time ?? 0) - (1.3 + offset)) < 1e-6, "launched at the last arrival plus the session's offset")
        #expect(live.contains { if case .roles = $0.kind { true } else { false } })

        // The replay, as restore() does it.
        var replay = fresh()
        var replayed: [PlanEngine.Action] = []
        for (time, input) in recorded {
            replayed += replay.advance(to: time)
            if let input { replayed += replay.handle(input, at: time) }
        }
        let liveEngine = try #require(fleet.engine(of: session))
        replayed += replay.advance(to: liveEngine.now)
        // The same actions at the same seconds (the live times went through `Date`, so to a microsecond).
        #expect(replayed.map(\.kind) == live.map(\.kind))
        #expect(zip(replayed, live).allSatisfy { abs($0.time - $1.time) < 1e-6 })
        #expect(replay.roles == liveEngine.roles)
        #expect(replay.currentStep?.step.name == liveEngine.currentStep?.step.name)
        #expect(abs((replay.nextDeadline ?? 0) - (liveEngine.nextDeadline ?? 0)) < 1e-6)
    }
}

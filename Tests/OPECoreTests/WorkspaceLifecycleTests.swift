import Foundation
import OPECore
import Testing

/// The workspace lifecycle's rules, one at a time, with time passed in (workspaces are strings here).
@Suite struct WorkspaceLifecycleTests {
    typealias Lifecycle = WorkspaceLifecycle<String>
    typealias Action = Lifecycle.Action

    let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// `seconds` after the start.
    func at(_ seconds: TimeInterval) -> Date { start.addingTimeInterval(seconds) }

    func lifecycle(maxStarts: Int = 4, idle: Duration? = .seconds(1800)) -> Lifecycle {
        Lifecycle(configuration: .init(maxConcurrentStarts: maxStarts, idleTimeout: idle))
    }

    /// The session's workspace `w-<session>` is ready at `time`, after a start of one attempt.
    func makeReady(_ lifecycle: inout Lifecycle, _ session: String, at time: Date) {
        _ = lifecycle.startWanted(session: session, restart: false, now: time)
        _ = lifecycle.attemptSucceeded(session: session, workspace: "w-\(session)", path: "/w/\(session)/", now: time)
    }

    func attempts(_ actions: [Action]) -> [String] {
        actions.compactMap { if case .attempt(let session, _) = $0 { session } else { nil } }
    }

    func records(_ actions: [Action]) -> [(EventType, [String: JSONValue])] {
        actions.compactMap { if case .record(let type, _, let payload) = $0 { (type, payload) } else { nil } }
    }

    // MARK: The start queue

    @Test func startsBeyondTheLimitWaitTheirTurnInTheOrderAsked() {
        var lifecycle = lifecycle(maxStarts: 2)
        #expect(lifecycle.startWanted(session: "a", restart: false, now: start) == [.attempt(session: "a", number: 1)])
        #expect(lifecycle.startWanted(session: "b", restart: false, now: start) == [.attempt(session: "b", number: 1)])
        #expect(lifecycle.startWanted(session: "c", restart: false, now: start).isEmpty)
        #expect(lifecycle.startWanted(session: "d", restart: false, now: start).isEmpty)
        #expect(lifecycle.state(of: "b") == .starting)
        #expect(lifecycle.state(of: "c") == .waiting)
        #expect(lifecycle.queue == ["c", "d"])

        // b's start is over: its turn goes to c, the first in line.
        let done = lifecycle.attemptSucceeded(session: "b", workspace: "w-b", path: "/w/b/", now: at(5))
        #expect(done.last == .attempt(session: "c", number: 1))
        #expect(done.contains(.resumeWaiters(session: "b", workspace: "w-b")))
        #expect(lifecycle.state(of: "c") == .starting)
        // A start in backoff keeps its turn: d still waits.
        #expect(lifecycle.attemptFailed(session: "a", error: "slow disk", now: at(6)) == [.retry(session: "a", after: .seconds(1))])
        #expect(lifecycle.queue == ["d"])
        #expect(lifecycle.running == ["a", "c"])
    }

    @Test func theLobbyMayFormGroupsOnlyWhileStartsWaitingAndRunningAreBelowTheLimit() {
        var lifecycle = lifecycle(maxStarts: 2)
        #expect(lifecycle.hasStartCapacity)
        _ = lifecycle.startWanted(session: "a", restart: false, now: start)
        #expect(lifecycle.hasStartCapacity)
        _ = lifecycle.startWanted(session: "b", restart: false, now: start)
        #expect(!lifecycle.hasStartCapacity)
        // A ready workspace no longer counts.
        _ = lifecycle.attemptSucceeded(session: "a", workspace: "w-a", path: "/w/a/", now: at(1))
        #expect(lifecycle.hasStartCapacity)
        // Waiting starts count as much as running ones.
        var single = self.lifecycle(maxStarts: 1)
        _ = single.startWanted(session: "a", restart: false, now: start)
        _ = single.attemptSucceeded(session: "a", workspace: "w-a", path: "/w/a/", now: start)
        _ = single.startWanted(session: "b", restart: false, now: start)
        _ = single.startWanted(session: "c", restart: false, now: start)
        #expect(single.startsInFlight == 2)
        #expect(!single.hasStartCapacity)
    }

    @Test func aStartIsQueuedOnceAndNotForAReadyWorkspace() {
        var lifecycle = lifecycle(maxStarts: 1)
        _ = lifecycle.startWanted(session: "a", restart: false, now: start)
        #expect(lifecycle.startWanted(session: "b", restart: false, now: start).isEmpty)
        #expect(lifecycle.startWanted(session: "b", restart: true, now: start).isEmpty)
        #expect(lifecycle.queue == ["b"])
        _ = lifecycle.attemptSucceeded(session: "a", workspace: "w-a", path: "/w/a/", now: start)
        #expect(lifecycle.startWanted(session: "a", restart: true, now: start).isEmpty)
        #expect(lifecycle.state(of: "a") == .ready("w-a"))
    }

    // MARK: Attempts

    @Test func aStartThatKeepsFailingIsRetriedWithGrowingWaitsThenReported() {
        var lifecycle = lifecycle(maxStarts: 1)
        _ = lifecycle.startWanted(session: "a", restart: false, now: start)
        _ = lifecycle.startWanted(session: "b", restart: false, now: start)
        #expect(lifecycle.attemptFailed(session: "a", error: "exit 3", now: at(1)) == [.retry(session: "a", after: .seconds(1))])
        #expect(lifecycle.state(of: "a") == .starting)
        #expect(lifecycle.retryDue(session: "a", now: at(2)) == [.attempt(session: "a", number: 2)])
        #expect(lifecycle.attemptFailed(session: "a", error: "exit 3", now: at(3)) == [.retry(session: "a", after: .seconds(2))])
        #expect(lifecycle.retryDue(session: "a", now: at(5)) == [.attempt(session: "a", number: 3)])
        let failed = lifecycle.attemptFailed(session: "a", error: "broken install", now: at(6))
        #expect(
            failed == [
                .record(.workspaceFailed, session: "a", payload: ["error": "broken install", "attempts": 3]),
                .resumeWaiters(session: "a", workspace: nil), .attempt(session: "b", number: 1),
            ]
        )
        #expect(lifecycle.state(of: "a") == .failed("broken install"))
        #expect(!lifecycle.hasStart("a"))
    }

    @Test func aLongErrorIsRecordedByItsEnd() throws {
        var lifecycle = lifecycle()
        _ = lifecycle.startWanted(session: "a", restart: false, now: start)
        let error = String(repeating: "x", count: 3000) + "the cause"
        var actions: [Action] = []
        for attempt in 1...3 {
            actions = lifecycle.attemptFailed(session: "a", error: error, now: at(Double(attempt)))
            _ = lifecycle.retryDue(session: "a", now: at(Double(attempt)))
        }
        let recorded = try #require(records(actions).first?.1["error"]?.stringValue)
        #expect(recorded.count == 2001)
        #expect(recorded.hasPrefix("…") && recorded.hasSuffix("the cause"))
        // The state keeps all of it.
        #expect(lifecycle.state(of: "a") == .failed(error))
    }

    @Test func theStartedEventSaysHowLongWhichAttemptAndWhetherItRanBefore() {
        var lifecycle = lifecycle()
        _ = lifecycle.startWanted(session: "a", restart: false, now: start)
        _ = lifecycle.attemptFailed(session: "a", error: "port taken", now: at(4))
        _ = lifecycle.retryDue(session: "a", now: at(5))
        let started = lifecycle.attemptSucceeded(session: "a", workspace: "w-a", path: "/w/a/", now: at(12.5))
        #expect(
            started == [
                .record(.workspaceStarted, session: "a", payload: ["path": "/w/a/", "startMs": 12500, "attempt": 2, "restart": false]),
                .resumeWaiters(session: "a", workspace: "w-a"),
            ]
        )
        #expect(lifecycle.state(of: "a") == .ready("w-a"))
        #expect(lifecycle.readyWorkspaces == ["w-a"])
        // Started again (here by a restart), it says it ran before.
        _ = try? lifecycle.restart(session: "a", now: at(100))
        let again = lifecycle.attemptSucceeded(session: "a", workspace: "w-a2", path: "/w/a/", now: at(103))
        #expect(records(again).first?.1["restart"] == .bool(true))
        #expect(records(again).first?.1["startMs"] == .number(3000))
    }

    @Test func aStartWhoseModuleIsGoneFailsWithoutAnEvent() {
        var lifecycle = lifecycle(maxStarts: 1)
        _ = lifecycle.startWanted(session: "a", restart: false, now: start)
        _ = lifecycle.startWanted(session: "b", restart: false, now: start)
        let refused = lifecycle.startRefused(session: "a", reason: "the session's module is no longer on offer", now: at(1))
        #expect(refused == [.resumeWaiters(session: "a", workspace: nil), .attempt(session: "b", number: 1)])
        #expect(lifecycle.state(of: "a") == .failed("the session's module is no longer on offer"))
    }

    @Test func anInterruptedStartEndsWithoutAWordAndGivesUpItsTurn() {
        var lifecycle = lifecycle(maxStarts: 1)
        _ = lifecycle.startWanted(session: "a", restart: false, now: start)
        _ = lifecycle.startWanted(session: "b", restart: false, now: start)
        #expect(lifecycle.startInterrupted(session: "a", now: at(1)) == [.resumeWaiters(session: "a", workspace: nil), .attempt(session: "b", number: 1)])
        #expect(lifecycle.state(of: "a") == .stopped(reason: "interrupted"))
        // Reports about a start that is over change nothing.
        #expect(lifecycle.attemptSucceeded(session: "a", workspace: "w-a", path: "/w/a/", now: at(2)).isEmpty)
        #expect(lifecycle.attemptFailed(session: "a", error: "late", now: at(2)).isEmpty)
        #expect(lifecycle.retryDue(session: "a", now: at(2)).isEmpty)
    }

    // MARK: Crashes

    @Test func aCrashedWorkspaceStartsAgainUntilItCrashesTooOftenWithinTheWindow() {
        var lifecycle = lifecycle()
        makeReady(&lifecycle, "a", at: start)
        for (crash, time) in [at(100), at(200)].enumerated() {
            let actions = lifecycle.exited(session: "a", status: 137, log: "Killed", now: time)
            #expect(
                actions == [
                    .record(.workspaceCrashed, session: "a", payload: ["status": 137, "log": "Killed", "restarting": true]),
                    .attempt(session: "a", number: 1),
                ],
                "crash \(crash + 1)"
            )
            #expect(lifecycle.state(of: "a") == .starting)
            let again = lifecycle.attemptSucceeded(session: "a", workspace: "w-a", path: "/w/a/", now: time)
            #expect(records(again).first?.1["restart"] == .bool(true))
        }
        // The third crash within ten minutes: not restarted.
        let third = lifecycle.exited(session: "a", status: 1, log: "Traceback", now: at(300))
        #expect(
            third == [
                .record(.workspaceCrashed, session: "a", payload: ["status": 1, "log": "Traceback", "restarting": false]),
                .record(.workspaceFailed, session: "a", payload: ["error": "the workspace crashed 3 times; an instructor can restart it"]),
            ]
        )
        #expect(lifecycle.state(of: "a") == .failed("crashed 3 times in \(Duration.seconds(600)); not restarted"))
        #expect(lifecycle.opening("a") == .unavailable)
    }

    @Test func crashesOlderThanTheWindowAreForgotten() {
        var lifecycle = lifecycle()
        makeReady(&lifecycle, "a", at: start)
        for time in [at(0), at(100)] {
            _ = lifecycle.exited(session: "a", status: 1, log: "", now: time)
            _ = lifecycle.attemptSucceeded(session: "a", workspace: "w-a", path: "/w/a/", now: time)
        }
        // Ten minutes after the first crash, it has left the window: two within it, so it restarts.
        let third = lifecycle.exited(session: "a", status: 1, log: "", now: at(600))
        #expect(records(third).first?.1["restarting"] == .bool(true))
        #expect(lifecycle.state(of: "a") == .starting)
    }

    @Test func onlyAReadyWorkspaceCanCrash() {
        var lifecycle = lifecycle()
        _ = lifecycle.startWanted(session: "a", restart: false, now: start)
        #expect(lifecycle.exited(session: "a", status: 1, log: "", now: at(1)).isEmpty)
        #expect(lifecycle.exited(session: "nobody", status: 1, log: "", now: at(1)).isEmpty)
        #expect(lifecycle.state(of: "a") == .starting)
    }

    // MARK: Idleness

    @Test func anUnusedWorkspaceIsStoppedCountingFromItsLastUse() {
        var lifecycle = lifecycle(idle: .seconds(60))
        #expect(lifecycle.tickInterval == .seconds(15))
        makeReady(&lifecycle, "a", at: start)
        makeReady(&lifecycle, "b", at: start)
        lifecycle.activity(session: "a", at: at(50))
        #expect(lifecycle.tick(now: at(59)).isEmpty)
        // b was never used: 60 s after it became ready it is idle; a was used at 50 s.
        let first = lifecycle.tick(now: at(60))
        #expect(first == [.stop(session: "b"), .record(.workspaceStopped, session: "b", payload: ["reason": "idle", "idleSeconds": 60])])
        #expect(lifecycle.state(of: "b") == .stopped(reason: "idle"))
        #expect(lifecycle.tick(now: at(109)).isEmpty)
        #expect(attemptsOrStops(lifecycle.tick(now: at(110))) == ["stop a"])
        #expect(lifecycle.readyWorkspaces.isEmpty)
        // Stopped ones are not stopped again.
        #expect(lifecycle.tick(now: at(1000)).isEmpty)
    }

    func attemptsOrStops(_ actions: [Action]) -> [String] {
        actions.compactMap {
            switch $0 {
            case .stop(let session): "stop \(session)"
            case .attempt(let session, let number): "attempt \(number) \(session)"
            default: nil
            }
        }
    }

    @Test func idlenessCountsFromTheLatestStartNotFromUseBeforeIt() {
        var lifecycle = lifecycle(idle: .seconds(60))
        lifecycle.activity(session: "a", at: at(0))
        makeReady(&lifecycle, "a", at: at(500))
        #expect(lifecycle.tick(now: at(520)).isEmpty)
        #expect(attemptsOrStops(lifecycle.tick(now: at(560))) == ["stop a"])
    }

    @Test func withoutAnIdleTimeoutNothingIsCulled() {
        var lifecycle = lifecycle(idle: nil)
        #expect(lifecycle.tickInterval == nil)
        makeReady(&lifecycle, "a", at: start)
        #expect(lifecycle.tick(now: at(1_000_000)).isEmpty)
        #expect(lifecycle.state(of: "a") == .ready("w-a"))
    }

    // MARK: The session's end

    @Test func aSessionThatEndsDuringItsStartGetsNoWorkspace() {
        var lifecycle = lifecycle(maxStarts: 1)
        _ = lifecycle.startWanted(session: "a", restart: false, now: start)
        _ = lifecycle.startWanted(session: "b", restart: false, now: start)
        #expect(lifecycle.sessionEnded(session: "a", now: at(1)) == [.finish(session: "a"), .cleanUpKit(session: "a")])
        #expect(lifecycle.state(of: "a") == .stopped(reason: "ended"))
        #expect(!lifecycle.isStartWanted("a"))
        // Its attempt still holds the turn until it reports back.
        #expect(lifecycle.hasStart("a") && !lifecycle.hasStartCapacity)
        #expect(lifecycle.opening("a") == .wait)
        // It launched all the same: that is stopped at once, without a word.
        let launched = lifecycle.attemptSucceeded(session: "a", workspace: "w-a", path: "/w/a/", now: at(2))
        #expect(launched == [.stop(session: "a"), .resumeWaiters(session: "a", workspace: nil), .attempt(session: "b", number: 1)])
        #expect(lifecycle.state(of: "a") == .stopped(reason: "ended"))
        #expect(lifecycle.readyWorkspaces.isEmpty)
    }

    @Test func aFailedOrBackedOffAttemptOfAnEndedSessionIsNotTriedAgain() {
        var lifecycle = lifecycle()
        _ = lifecycle.startWanted(session: "a", restart: false, now: start)
        _ = lifecycle.sessionEnded(session: "a", now: at(1))
        #expect(lifecycle.attemptFailed(session: "a", error: "killed", now: at(2)) == [.resumeWaiters(session: "a", workspace: nil)])

        _ = lifecycle.startWanted(session: "b", restart: false, now: start)
        _ = lifecycle.attemptFailed(session: "b", error: "exit 1", now: at(1))
        _ = lifecycle.sessionEnded(session: "b", now: at(1.5))
        #expect(lifecycle.retryDue(session: "b", now: at(2)) == [.resumeWaiters(session: "b", workspace: nil)])
        #expect(lifecycle.state(of: "b") == .stopped(reason: "ended"))
        #expect(lifecycle.startsInFlight == 0)
    }

    @Test func aWaitingStartOfAnEndedSessionIsDroppedAtOnce() {
        var lifecycle = lifecycle(maxStarts: 1)
        _ = lifecycle.startWanted(session: "a", restart: false, now: start)
        _ = lifecycle.startWanted(session: "b", restart: false, now: start)
        let ended = lifecycle.sessionEnded(session: "b", now: at(1))
        #expect(ended == [.finish(session: "b"), .cleanUpKit(session: "b"), .resumeWaiters(session: "b", workspace: nil)])
        #expect(lifecycle.queue.isEmpty)
        #expect(lifecycle.state(of: "b") == .stopped(reason: "ended"))
        #expect(attempts(lifecycle.attemptSucceeded(session: "a", workspace: "w-a", path: "/w/a/", now: at(2))).isEmpty)
    }

    @Test func anEndedSessionsRunningWorkspaceIsRecordedStopped() {
        var lifecycle = lifecycle()
        makeReady(&lifecycle, "a", at: start)
        lifecycle.activity(session: "a", at: at(5))
        let ended = lifecycle.sessionEnded(session: "a", now: at(10))
        #expect(ended == [.finish(session: "a"), .cleanUpKit(session: "a"), .record(.workspaceStopped, session: "a", payload: ["reason": "ended"])])
        #expect(lifecycle.state(of: "a") == .stopped(reason: "ended"))
        // A session without a workspace still has its kit cleaned up, and nothing is recorded.
        #expect(lifecycle.sessionEnded(session: "never", now: at(10)) == [.finish(session: "never"), .cleanUpKit(session: "never")])
    }

    // MARK: Restarting and reopening

    @Test func aRestartStopsTheRunningWorkspaceAndForgetsPastCrashes() throws {
        var lifecycle = lifecycle()
        makeReady(&lifecycle, "a", at: start)
        for time in [at(1), at(2)] {
            _ = lifecycle.exited(session: "a", status: 1, log: "", now: time)
            _ = lifecycle.attemptSucceeded(session: "a", workspace: "w-a", path: "/w/a/", now: time)
        }
        #expect(try lifecycle.restart(session: "a", now: at(3)) == [.stop(session: "a"), .attempt(session: "a", number: 1)])
        #expect(lifecycle.state(of: "a") == .starting)
        _ = lifecycle.attemptSucceeded(session: "a", workspace: "w-a", path: "/w/a/", now: at(4))
        // Two crashes before the restart no longer count.
        #expect(records(lifecycle.exited(session: "a", status: 1, log: "", now: at(5))).first?.1["restarting"] == .bool(true))
    }

    @Test func aFailedWorkspaceStartsOnlyWhenRestarted() throws {
        var lifecycle = lifecycle()
        _ = lifecycle.startWanted(session: "a", restart: false, now: start)
        _ = lifecycle.startRefused(session: "a", reason: "gone", now: start)
        #expect(lifecycle.opening("a") == .unavailable)
        #expect(try lifecycle.restart(session: "a", now: at(1)) == [.attempt(session: "a", number: 1)])
        // Asking again while it starts changes nothing.
        #expect(try lifecycle.restart(session: "a", now: at(2)).isEmpty)
    }

    @Test func aRestartIsRefusedWhileStartsAreAtTheLimit() {
        var lifecycle = lifecycle(maxStarts: 1)
        makeReady(&lifecycle, "a", at: start)
        _ = lifecycle.startWanted(session: "b", restart: false, now: start)
        #expect(throws: Lifecycle.Busy(retryAfterSeconds: 2)) { try lifecycle.restart(session: "a", now: at(1)) }
        #expect(lifecycle.state(of: "a") == .ready("w-a"))
    }

    @Test func aStoppedWorkspaceStartsAgainWhenSomeoneOpensIt() {
        var lifecycle = lifecycle(idle: .seconds(60))
        makeReady(&lifecycle, "a", at: start)
        #expect(lifecycle.opening("a") == .ready("w-a"))
        _ = lifecycle.tick(now: at(60))
        #expect(lifecycle.opening("a") == .start)
        #expect(lifecycle.startWanted(session: "a", restart: true, now: at(70)) == [.attempt(session: "a", number: 1)])
        #expect(lifecycle.opening("a") == .wait)
        let started = lifecycle.attemptSucceeded(session: "a", workspace: "w-a2", path: "/w/a/", now: at(75))
        #expect(records(started).first?.1["restart"] == .bool(true))
        #expect(lifecycle.opening("a") == .ready("w-a2"))
        // Idleness counts from the new start.
        #expect(lifecycle.tick(now: at(130)).isEmpty)
    }

    @Test func openingWhileStartsAreAtTheLimitSaysWhenToTryAgain() {
        var lifecycle = lifecycle(maxStarts: 2)
        #expect(lifecycle.opening("z") == .start)
        for session in ["a", "b", "c"] { _ = lifecycle.startWanted(session: session, restart: false, now: start) }
        #expect(lifecycle.opening("z") == .busy(.init(retryAfterSeconds: 3)))
        _ = lifecycle.startWanted(session: "d", restart: false, now: start)
        #expect(lifecycle.opening("z") == .busy(.init(retryAfterSeconds: 4)))
        #expect(lifecycle.opening("c") == .wait)
    }
}

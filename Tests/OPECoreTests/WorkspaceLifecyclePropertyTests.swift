import Foundation
import OPECore
import PropertyBased
import Testing

/// Random sequences of what happens to a handful of sessions' workspaces — starts wanted,
/// attempts that succeed or fail in any order, backoffs, crashes, restarts, openings, use, clock
/// ticks, sessions ending — against the lifecycle's promises.
@Suite struct WorkspaceLifecyclePropertyTests {
    typealias Lifecycle = WorkspaceLifecycle<String>

    static let sessions = ["s0", "s1", "s2", "s3", "s4"]
    /// (what happens, 0–11; to which session; seconds that pass first)
    static let steps = zip(Gen.int(in: 0...11), Gen.int(in: 0...4), Gen.int(in: 0...40)).array(of: 1...150)

    @Test func startsStayWithinTheLimitTakeTurnsInOrderAndEachEndsOnce() async {
        await propertyCheck(count: 300, input: Gen.int(in: 1...3), Self.steps) { limit, steps in
            var configuration = Lifecycle.Configuration(maxConcurrentStarts: limit, idleTimeout: .seconds(120))
            configuration.crashLimit = 2
            configuration.crashWindow = .seconds(300)
            var driver = Driver(lifecycle: Lifecycle(configuration: configuration))
            for (kind, index, seconds) in steps {
                driver.now = driver.now.addingTimeInterval(Double(seconds))
                driver.step(kind, Self.sessions[index])
                driver.checkInvariants(limit: limit)
            }
        }
    }

    /// Plays the workspace service: carries out the lifecycle's actions, remembering which attempts
    /// and backoffs are under way so it can report on them later, and what the promises need.
    struct Driver {
        var lifecycle: Lifecycle
        var now = Date(timeIntervalSince1970: 1_800_000_000)
        /// Attempts launched and not reported on yet, by session.
        var attempts: [String: Int] = [:]
        /// Backoffs under way.
        var retries: Set<String> = []
        /// Sessions with a start waiting for its turn, in the order the starts were asked for.
        var line: [String] = []
        var ended: Set<String> = []
        /// Starts asked for, and starts whose waiters were resumed, per session.
        var startsAsked: [String: Int] = [:]
        var startsOver: [String: Int] = [:]

        mutating func step(_ kind: Int, _ session: String) {
            let before = Set(WorkspaceLifecyclePropertyTests.sessions.filter { lifecycle.hasStart($0) })
            let actions: [Lifecycle.Action]
            switch kind {
            // The service asks for starts only for sessions that are on.
            case 0, 1: actions = ended.contains(session) ? [] : lifecycle.startWanted(session: session, restart: kind == 1, now: now)
            case 2 where attempts[session] != nil:
                actions = lifecycle.attemptSucceeded(session: session, workspace: "w-\(session)-\(now)", path: "/w/\(session)/", now: now)
            case 3 where attempts[session] != nil: actions = lifecycle.attemptFailed(session: session, error: "no", now: now)
            case 4 where retries.contains(session): actions = lifecycle.retryDue(session: session, now: now)
            case 5: actions = lifecycle.exited(session: session, status: 9, log: "", now: now)
            case 6 where !ended.contains(session):
                ended.insert(session)
                actions = lifecycle.sessionEnded(session: session, now: now)
            case 7 where !ended.contains(session): actions = (try? lifecycle.restart(session: session, now: now)) ?? []
            case 8: actions = lifecycle.tick(now: now)
            case 9:
                lifecycle.activity(session: session, at: now)
                actions = []
            case 10 where !ended.contains(session) && lifecycle.opening(session) == .start:
                actions = lifecycle.startWanted(session: session, restart: true, now: now)
            case 11 where attempts[session] != nil:
                actions =
                    session.hasSuffix("0")
                    ? lifecycle.startRefused(session: session, reason: "gone", now: now) : lifecycle.startInterrupted(session: session, now: now)
            default: actions = []
            }
            let after = Set(WorkspaceLifecyclePropertyTests.sessions.filter { lifecycle.hasStart($0) })
            for started in after.subtracting(before).sorted() {
                line.append(started)
                startsAsked[started, default: 0] += 1
            }
            // A start over without a turn was dropped from the line.
            for over in before.subtracting(after) { line.removeAll { $0 == over } }
            for action in actions { carryOut(action) }
        }

        mutating func carryOut(_ action: Lifecycle.Action) {
            switch action {
            case .attempt(let session, let number):
                #expect(attempts[session] == nil, "\(session) attempts twice at once")
                if number == 1 {
                    #expect(!retries.contains(session), "\(session) starts afresh during a backoff")
                    #expect(line.first == session, "\(session) began out of turn; line \(line)")
                    line.removeAll { $0 == session }
                } else {
                    #expect(retries.remove(session) != nil, "attempt \(number) of \(session) without a backoff")
                }
                attempts[session] = number
            case .retry(let session, let delay):
                let number = attempts.removeValue(forKey: session)
                #expect(number.map { Duration.seconds($0) } == delay, "backoff after attempt \(number ?? 0) of \(session): \(delay)")
                retries.insert(session)
            case .resumeWaiters(let session, _):
                #expect(!lifecycle.hasStart(session), "waiters of \(session) resumed while its start goes on")
                attempts[session] = nil
                retries.remove(session)
                startsOver[session, default: 0] += 1
            case .record(let type, let session, _):
                #expect(!(type == .workspaceStarted && ended.contains(session)), "\(session) started after its session ended")
            case .stop, .finish, .cleanUpKit:
                break
            }
        }

        func checkInvariants(limit: Int) {
            #expect(lifecycle.running.count <= limit, "\(lifecycle.running.count) starts running, limit \(limit)")
            #expect(lifecycle.hasStartCapacity == (lifecycle.startsInFlight < limit))
            #expect(lifecycle.queue == line, "the lifecycle's line \(lifecycle.queue), asked in the order \(line)")
            // Every start with its turn has exactly one attempt or backoff under way.
            #expect(Set(attempts.keys).union(retries) == lifecycle.running && Set(attempts.keys).isDisjoint(with: retries))
            for session in WorkspaceLifecyclePropertyTests.sessions {
                let state = lifecycle.state(of: session)
                // Each start ends once, with its waiters resumed.
                #expect(startsAsked[session, default: 0] - startsOver[session, default: 0] == (lifecycle.hasStart(session) ? 1 : 0), "\(session)")
                if ended.contains(session) { #expect(state == .stopped(reason: "ended"), "\(session) ended but is \(String(describing: state))") }
                switch state {
                case .waiting?: #expect(lifecycle.queue.contains(session))
                case .starting?: #expect(lifecycle.isStartWanted(session))
                case .ready?: #expect(!lifecycle.hasStart(session))
                default: break
                }
            }
            #expect(
                lifecycle.readyWorkspaces.count
                    == WorkspaceLifecyclePropertyTests.sessions.count { if case .ready? = lifecycle.state(of: $0) { true } else { false } })
        }
    }
}

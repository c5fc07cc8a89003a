import Foundation

/// Every session's workspace, from the first start to the session's end: one pure value the
/// workspace service drives with what happens (a start is wanted, an attempt succeeded or failed,
/// the workspace crashed, someone used it, time passed, the session ended) and whose returned
/// actions it carries out (launch, wait and retry, stop, record the `workspace.*` events).
///
/// The rules:
/// - At most `maxConcurrentStarts` starts run at once; the others wait in the order asked for.
///   A start holds its place from its first attempt until it is over, backoff included, and the
///   lobby forms no new groups while starts (waiting or running) are at the limit.
/// - A start makes up to `startAttempts` attempts, attempt *n* followed by a wait of *n* seconds.
///   After the last one fails the team is told (`workspace.failed`) and it is not tried again
///   until someone restarts it.
/// - A crashed workspace is started again, unless it crashed `crashLimit` times within
///   `crashWindow`: then it is `failed` until someone restarts it.
/// - A workspace nobody has used for `idleTimeout` (counted from when it became ready or its last
///   activity, whichever is later) is stopped; its files stay, and opening it starts it again.
/// - A session that ends during its start gets no workspace: the start ends without a word.
///
/// Time is an input (`now`), so every rule is tested without waiting. `Workspace` is whatever the
/// backend hands out for a started workspace; the lifecycle only keeps it and gives it back.
public struct WorkspaceLifecycle<Workspace: Sendable & Hashable>: Sendable, Hashable {
    /// The rules' numbers (`ope serve --max-starting` and `--idle-timeout` set two of them).
    public struct Configuration: Sendable, Hashable {
        /// Workspaces starting at the same time; more wait, and the lobby forms no new groups.
        public var maxConcurrentStarts = 4
        /// Attempts per start before the team is told it failed.
        public var startAttempts = 3
        /// A workspace nobody has touched for this long is stopped (its files stay); nil keeps it.
        public var idleTimeout: Duration? = .seconds(1800)
        /// Crashes within `crashWindow` after which it is not restarted again.
        public var crashLimit = 3
        /// How far back crashes count towards `crashLimit`.
        public var crashWindow: Duration = .seconds(600)

        public init(maxConcurrentStarts: Int = 4, idleTimeout: Duration? = .seconds(1800)) {
            self.maxConcurrentStarts = maxConcurrentStarts
            self.idleTimeout = idleTimeout
        }
    }

    /// Where a session's workspace stands.
    public enum State: Sendable, Hashable {
        /// A start is wanted and waits for its turn.
        case waiting
        /// A start is under way (attempting, or waiting to try again).
        case starting
        case ready(Workspace)
        /// Not running; `reason` is `idle`, `crashed`, `ended` or `interrupted`.
        case stopped(reason: String)
        /// Gave up: the start failed every attempt or the workspace crashed too often.
        case failed(String)

        public var name: String {
            switch self {
            case .waiting: "waiting"
            case .starting: "starting"
            case .ready: "ready"
            case .stopped: "stopped"
            case .failed: "failed"
            }
        }
    }

    /// A start cannot begin now: starts are at their limit. The API answers 429 with `Retry-After`.
    public struct Busy: Error, Sendable, Hashable {
        public var retryAfterSeconds: Int

        public init(retryAfterSeconds: Int) { self.retryAfterSeconds = retryAfterSeconds }
    }

    /// What the service must do. Actions come in the order they must be carried out.
    public enum Action: Sendable, Hashable {
        /// Make attempt `number` at starting the session's workspace, and report how it went with
        /// ``attemptSucceeded(session:workspace:path:now:)`` or ``attemptFailed(session:error:now:)``
        /// (``startRefused(session:reason:)`` or ``startInterrupted(session:)`` if it cannot be made).
        case attempt(session: String, number: Int)
        /// Wait `delay`, then report ``retryDue(session:now:)``.
        case retry(session: String, after: Duration)
        /// Stop the session's workspace; its files stay for a later start.
        case stop(session: String)
        /// The session is over: stop its workspace for good and release what its files were kept on.
        case finish(session: String)
        /// Release what the session's kit holds for it (the sql kit's database).
        case cleanUpKit(session: String)
        /// Record an event of the session.
        case record(EventType, session: String, payload: [String: JSONValue])
        /// Whoever waits for the session's start gets its workspace (nil: there is none).
        case resumeWaiters(session: String, workspace: Workspace?)
    }

    /// What opening a session's workspace comes to, before any start (``opening(_:)``).
    public enum Opening: Sendable, Hashable {
        case ready(Workspace)
        /// It failed; only an explicit restart tries again.
        case unavailable
        /// It is not running and starts are at their limit.
        case busy(Busy)
        /// It is not running and may start: if the session is still on, say ``startWanted(session:restart:now:)``.
        case start
        /// A start is under way: wait for it.
        case wait
    }

    /// A start from being asked for until it is over.
    struct Start: Sendable, Hashable {
        /// Whether the workspace ran before (a restart, a crash, a reopening, a server restart).
        var restart: Bool
        /// The attempt under way or last made; 0 while the start waits for its turn.
        var attempt = 0
        /// When the first attempt began.
        var began: Date?
        /// The session ended: whatever the start still does comes to nothing.
        var abandoned = false
    }

    /// One session's workspace.
    struct Entry: Sendable, Hashable {
        var state: State?
        /// When it became ready; idleness counts from here at the earliest.
        var readySince: Date?
        var lastActivity: Date?
        /// Recent crashes, oldest first.
        var crashes: [Date] = []
        var start: Start?
    }

    public let configuration: Configuration
    private var entries: [String: Entry] = [:]
    /// Sessions whose start waits for its turn, in the order asked for.
    public private(set) var queue: [String] = []
    /// Sessions whose start has its turn (attempting or in backoff).
    public private(set) var running: Set<String> = []

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    // MARK: Questions

    /// The state of a session's workspace (nil: the session never had one).
    public func state(of session: String) -> State? { entries[session]?.state }

    /// Starts waiting or running.
    public var startsInFlight: Int { queue.count + running.count }

    /// Whether a new workspace could start without waiting; the lobby forms groups only then.
    public var hasStartCapacity: Bool { startsInFlight < configuration.maxConcurrentStarts }

    /// Whether the session's workspace has a start waiting or running (abandoned ones included).
    public func hasStart(_ session: String) -> Bool { entries[session]?.start != nil }

    /// Whether the session's start has its turn and still matters: the service checks this before
    /// launching, so a session that ended while its kit was prepared gets nothing started.
    public func isStartWanted(_ session: String) -> Bool {
        running.contains(session) && entries[session]?.start?.abandoned == false
    }

    /// The workspaces that are ready, which the proxy routes to.
    public var readyWorkspaces: [Workspace] {
        entries.values.compactMap { if case .ready(let workspace)? = $0.state { workspace } else { nil } }
    }

    /// How often ``tick(now:)`` has work to do (nil: never, as nothing is culled).
    public var tickInterval: Duration? { configuration.idleTimeout.map { IdlePolicy(timeout: $0).checkInterval } }

    /// What opening the session's workspace comes to: a stopped one (idle, crashed) may start
    /// again if starts are below their limit; a failed one waits for an explicit restart.
    public func opening(_ session: String) -> Opening {
        let entry = entries[session]
        switch entry?.state {
        case .ready(let workspace): return .ready(workspace)
        case .failed: return .unavailable
        case .waiting, .starting: return .wait
        case .stopped, nil:
            // A start the session ended during is still winding down.
            if entry?.start != nil { return .wait }
            guard hasStartCapacity else {
                let seconds = 2 * startsInFlight / max(1, configuration.maxConcurrentStarts)
                return .busy(Busy(retryAfterSeconds: max(1, seconds)))
            }
            return .start
        }
    }

    // MARK: Inputs

    /// The session wants its workspace (it began, someone opens it, it crashed, the server came
    /// back): a start is queued unless one is under way or it is ready. `restart` says it ran before.
    public mutating func startWanted(session: String, restart: Bool, now: Date) -> [Action] {
        var entry = entries[session] ?? Entry()
        if entry.start != nil { return [] }
        if case .ready? = entry.state { return [] }
        entry.state = .waiting
        entry.start = Start(restart: restart)
        entries[session] = entry
        queue.append(session)
        return beginWaitingStarts(now: now)
    }

    /// Someone asks for the workspace to be started afresh (an instructor, a member after a
    /// failure): a running one is stopped first, and past crashes are forgotten. Nothing happens
    /// while a start is under way.
    ///
    /// - Throws: ``Busy`` while starts are at their limit.
    public mutating func restart(session: String, now: Date) throws(Busy) -> [Action] {
        if hasStart(session) { return [] }
        guard hasStartCapacity else { throw Busy(retryAfterSeconds: 2) }
        var entry = entries[session] ?? Entry()
        var actions: [Action] = []
        if case .ready? = entry.state { actions.append(.stop(session: session)) }
        entry.state = nil
        entry.readySince = nil
        entry.crashes = []
        entries[session] = entry
        return actions + startWanted(session: session, restart: true, now: now)
    }

    /// The attempt launched `workspace`, reachable under `path`.
    public mutating func attemptSucceeded(session: String, workspace: Workspace, path: String, now: Date) -> [Action] {
        guard running.contains(session), var entry = entries[session], let start = entry.start else { return [] }
        // The session ended while it started: it goes again at once.
        if start.abandoned { return [.stop(session: session)] + endStart(session, with: nil, now: now) }
        entry.state = .ready(workspace)
        entry.readySince = now
        entries[session] = entry
        let elapsed = now.timeIntervalSince(start.began ?? now)
        let payload = WorkspaceStartedPayload(path: path, startMs: elapsed * 1000, attempt: start.attempt, restart: start.restart).fields
        return [.record(.workspaceStarted, session: session, payload: payload)] + endStart(session, with: workspace, now: now)
    }

    /// The attempt failed with `error`: another follows after a wait, or, after the last, the
    /// team is told.
    public mutating func attemptFailed(session: String, error: String, now: Date) -> [Action] {
        guard running.contains(session), var entry = entries[session], let start = entry.start else { return [] }
        if start.abandoned { return endStart(session, with: nil, now: now) }
        if start.attempt < configuration.startAttempts { return [.retry(session: session, after: .seconds(start.attempt))] }
        entry.state = .failed(error)
        entries[session] = entry
        let payload = WorkspaceFailedPayload(error: Self.excerpt(error), attempts: configuration.startAttempts).fields
        // The team can still talk and the bot still runs; an instructor can retry the workspace.
        return [.record(.workspaceFailed, session: session, payload: payload)] + endStart(session, with: nil, now: now)
    }

    /// The wait after a failed attempt is over: the next attempt, unless the session ended.
    public mutating func retryDue(session: String, now: Date) -> [Action] {
        guard running.contains(session), let start = entries[session]?.start else { return [] }
        if start.abandoned { return endStart(session, with: nil, now: now) }
        entries[session]?.start?.attempt += 1
        return [.attempt(session: session, number: start.attempt + 1)]
    }

    /// No attempt can be made at all (the session's module is gone): the workspace is `failed`
    /// with `reason`, without an event.
    public mutating func startRefused(session: String, reason: String, now: Date) -> [Action] {
        guard running.contains(session), let start = entries[session]?.start else { return [] }
        if !start.abandoned { entries[session]?.state = .failed(reason) }
        return endStart(session, with: nil, now: now)
    }

    /// The service dropped the start before it was over (the session ended while its kit was
    /// prepared, or the server stops): it ends without a word.
    public mutating func startInterrupted(session: String, now: Date) -> [Action] {
        guard running.contains(session), let start = entries[session]?.start else { return [] }
        if !start.abandoned { entries[session]?.state = .stopped(reason: "interrupted") }
        return endStart(session, with: nil, now: now)
    }

    /// The session's workspace exited without being asked to, with `status` and the end of its
    /// `log`: it starts again, unless it crashed too often lately.
    public mutating func exited(session: String, status: Int32, log: String, now: Date) -> [Action] {
        guard var entry = entries[session], case .ready? = entry.state else { return [] }
        let window = configuration.crashWindow.timeInterval
        entry.crashes = entry.crashes.filter { now.timeIntervalSince($0) < window } + [now]
        entry.readySince = nil
        entry.state = .stopped(reason: "crashed")
        let count = entry.crashes.count
        let restarting = count < configuration.crashLimit
        if !restarting { entry.state = .failed("crashed \(count) times in \(configuration.crashWindow); not restarted") }
        entries[session] = entry
        let crashed = WorkspaceCrashedPayload(status: status, log: Self.excerpt(log), restarting: restarting).fields
        let actions: [Action] = [.record(.workspaceCrashed, session: session, payload: crashed)]
        guard restarting else {
            let error = "the workspace crashed \(count) times; an instructor can restart it"
            return actions + [.record(.workspaceFailed, session: session, payload: WorkspaceFailedPayload(error: error).fields)]
        }
        return actions + startWanted(session: session, restart: true, now: now)
    }

    /// Someone used the session's workspace at `time` (the proxy saw traffic).
    public mutating func activity(session: String, at time: Date) {
        entries[session, default: Entry()].lastActivity = time
    }

    /// Time passed: workspaces idle for the timeout are stopped, the longest idle first.
    public mutating func tick(now: Date) -> [Action] {
        guard let timeout = configuration.idleTimeout else { return [] }
        let ready = entries.compactMapValues { entry -> Date? in
            guard case .ready? = entry.state else { return nil }
            return entry.readySince
        }
        let idle = IdlePolicy(timeout: timeout).idle(running: ready, lastActivity: entries.compactMapValues(\.lastActivity), now: now)
        var actions: [Action] = []
        for session in idle {
            entries[session]?.state = .stopped(reason: "idle")
            entries[session]?.readySince = nil
            let payload = WorkspaceStoppedPayload(reason: "idle", idleSeconds: DurationText.seconds(timeout)).fields
            actions += [.stop(session: session), .record(.workspaceStopped, session: session, payload: payload)]
        }
        return actions
    }

    /// The session is over (completed or abandoned): its workspace stops for good and its kit's
    /// resources go. A start waiting for its turn is dropped; a running one is abandoned.
    public mutating func sessionEnded(session: String, now: Date) -> [Action] {
        var entry = entries[session] ?? Entry()
        var actions: [Action] = [.finish(session: session), .cleanUpKit(session: session)]
        let wasReady: Bool
        if case .ready? = entry.state { wasReady = true } else { wasReady = false }
        if let index = queue.firstIndex(of: session) {
            queue.remove(at: index)
            entry.start = nil
            actions.append(.resumeWaiters(session: session, workspace: nil))
        } else {
            // Its attempt notices (`finish` stops what it launched) and gives up quietly.
            entry.start?.abandoned = true
        }
        entry.state = .stopped(reason: "ended")
        entry.readySince = nil
        entry.lastActivity = nil
        entries[session] = entry
        if wasReady { actions.append(.record(.workspaceStopped, session: session, payload: WorkspaceStoppedPayload(reason: "ended").fields)) }
        return actions
    }

    // MARK: Starts

    /// Gives waiting starts their turn while there is room, first come first served.
    private mutating func beginWaitingStarts(now: Date) -> [Action] {
        var actions: [Action] = []
        while running.count < configuration.maxConcurrentStarts, !queue.isEmpty {
            let session = queue.removeFirst()
            running.insert(session)
            entries[session]?.start?.attempt = 1
            entries[session]?.start?.began = now
            entries[session]?.state = .starting
            actions.append(.attempt(session: session, number: 1))
        }
        return actions
    }

    /// The session's start is over: its waiters get `workspace`, and its turn goes to the next.
    private mutating func endStart(_ session: String, with workspace: Workspace?, now: Date) -> [Action] {
        entries[session]?.start = nil
        running.remove(session)
        return [.resumeWaiters(session: session, workspace: workspace)] + beginWaitingStarts(now: now)
    }

    /// The end of a long text (a log, an error), for an event.
    public static func excerpt(_ text: String, limit: Int = 2000) -> String {
        text.count <= limit ? text : "…" + String(text.suffix(limit))
    }
}

/// A workspace's state crosses the wire between a core and its edges (the proxy's target).
extension WorkspaceLifecycle.State: Codable where Workspace: Codable {}

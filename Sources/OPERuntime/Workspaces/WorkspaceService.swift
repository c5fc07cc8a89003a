import Foundation
import Logging
import Metrics
import OPECore
import OPEStore
import OPEWorkspaces
import ServiceLifecycle
import Synchronization

/// Gives every live session its workspace and keeps it alive: starts it when the session forms
/// (at most `maxConcurrentStarts` at once, the rest wait in order and the lobby holds back new
/// groups), restarts it when it crashes, stops it when the session ends or nobody has used it
/// for `idleTimeout`, and starts it again when someone comes back. Every step is an event the
/// team room shows.
///
/// What to do when is ``WorkspaceLifecycle``'s to decide; this actor feeds it what happens and
/// carries out its actions: launching and stopping workspaces, waiting out backoffs, recording
/// events, and answering the proxy and the lobby without waiting on the actor.
public actor WorkspaceService: Service {
    /// How many start at once, how often a start is tried, when idle and crashing workspaces stop.
    public typealias Configuration = WorkspaceLifecycle<Workspace>.Configuration
    /// Where a session's workspace stands.
    public typealias State = WorkspaceLifecycle<Workspace>.State
    /// Thrown when a start cannot begin now; the API answers 429 with `Retry-After`.
    public typealias Busy = WorkspaceLifecycle<Workspace>.Busy

    public nonisolated let backend: any WorkspaceBackend
    let sessions: SessionManager
    let events: EventLog
    let configuration: Configuration
    let logger: Logger
    /// Per-session settings for the kit (the sql kit's database credentials).
    let kitEnvironment: @Sendable (Module, String) async throws -> [String: String]
    /// Releases per-session kit resources when the session ends.
    let kitCleanup: @Sendable (Module, String) async -> Void
    /// Stops the kits' servers at shutdown.
    let kitShutdown: @Sendable () async -> Void
    /// The lifecycle's time: activity, readiness, crashes and the idle checks are measured on it.
    nonisolated let clock: any PlatformClock

    /// Every session's workspace: what it is doing and what comes next.
    private var lifecycle: WorkspaceLifecycle<Workspace>
    /// Ready workspaces by id (the `/w/{id}/` segment), read by the proxy on every request: the
    /// lifecycle's ready workspaces, copied after every change.
    private nonisolated let routes = Mutex<[String: Workspace]>([:])
    /// Attempts, backoffs and ends are run by `run()`'s task group, so shutdown cancels them.
    private nonisolated let jobs: AsyncStream<Job>
    private nonisolated let jobContinuation: AsyncStream<Job>.Continuation
    private nonisolated let waiters = StartWaiters()
    /// The group's folder and kit settings from the last start, for test runs (also while stopped).
    private var places: [String: Place] = [:]
    /// Read by the lobby and the proxy without waiting on this actor.
    private nonisolated let shared = Mutex(Shared())
    /// Run at a session's end before its workspace goes away (see ``beforeFinishing(_:)``).
    private nonisolated let lastLooks = Mutex<[@Sendable (String) async -> Void]>([])
    private let startTimer = Metrics.Timer(label: "ope_workspace_start_duration")
    private let readyGauge = Gauge(label: "ope_workspaces_ready")
    private let waitingGauge = Gauge(label: "ope_workspace_starts_waiting")

    private struct Shared {
        /// The lifecycle's starts waiting or running, for ``hasStartCapacity``.
        var startsInFlight = 0
        /// The proxy's touches, handed to the lifecycle at each tick.
        var lastActivity: [String: Date] = [:]
        /// Sessions touched since the bots last asked (``takeEdits()``): the bots learn of edits
        /// without asking about every session.
        var edited: Set<String> = []
    }

    /// Work that outlives the actor call that asked for it.
    private enum Job {
        case attempt(session: String, number: Int)
        case retry(session: String, after: Duration)
        /// The session ended: the last looks, then its workspace finished.
        case end(session: String)
    }

    public init(
        backend: any WorkspaceBackend, sessions: SessionManager, events: EventLog, configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "ope.workspaces"),
        kitEnvironment: @escaping @Sendable (Module, String) async throws -> [String: String] = { _, _ in [:] },
        kitCleanup: @escaping @Sendable (Module, String) async -> Void = { _, _ in },
        kitShutdown: @escaping @Sendable () async -> Void = {}, clock: any PlatformClock = SystemClock()
    ) {
        self.backend = backend
        self.sessions = sessions
        self.events = events
        self.configuration = configuration
        self.logger = logger
        self.kitEnvironment = kitEnvironment
        self.kitCleanup = kitCleanup
        self.kitShutdown = kitShutdown
        self.clock = clock
        self.lifecycle = WorkspaceLifecycle(configuration: configuration)
        (jobs, jobContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    // MARK: Questions

    /// Whether a new workspace could start without waiting; the lobby forms groups only then.
    public nonisolated var hasStartCapacity: Bool {
        shared.withLock { $0.startsInFlight } < configuration.maxConcurrentStarts
    }

    /// The state of a session's workspace (nil: the session never had one).
    public func state(of session: String) -> State? { lifecycle.state(of: session) }

    /// Where a session's files are, what its workspace was started with, and which workspace.
    public struct Place: Sendable {
        public var directory: String
        public var environment: [String: String]
        /// The workspace's id (its sandbox's name): the session's id, or a warm pool's.
        public var workspaceID: String
    }

    /// Where the group's files are and the kit settings its workspace got, once it has started.
    public func files(of session: String) -> Place? { places[session] }

    /// The ready workspace behind `/w/{id}/`, without waiting on this actor.
    public nonisolated func route(_ id: String) -> Workspace? { routes.withLock { $0[id] } }

    /// The proxy saw traffic for this session's workspace: it is not idle.
    public nonisolated func touch(session: String) {
        let now = clock.now
        shared.withLock {
            $0.lastActivity[session] = now
            $0.edited.insert(session)
        }
        backend.noteActivity(session: session, at: now)
    }

    /// The sessions the proxy saw traffic for since the last call, with when it last did; for the
    /// bots' `idle` triggers (one reader: each touch is handed out once).
    public nonisolated func takeEdits() -> [String: Date] {
        shared.withLock { shared in
            guard !shared.edited.isEmpty else { return [:] }
            var edits: [String: Date] = [:]
            for session in shared.edited { edits[session] = shared.lastActivity[session] }
            shared.edited.removeAll(keepingCapacity: true)
            return edits
        }
    }

    /// When the proxy last saw traffic for the session's workspace (edits, runs); nil if never.
    public nonisolated func lastActivity(of session: String) -> Date? {
        shared.withLock { $0.lastActivity[session] }
    }

    /// Has `look` run with the session's id when the session ends, before its workspace is
    /// stopped and its files put away: the workspace still answers (or, stopped as idle, its files
    /// are still there). The snapshot writer takes its last look here.
    public nonisolated func beforeFinishing(_ look: @escaping @Sendable (String) async -> Void) {
        lastLooks.withLock { $0.append(look) }
    }

    // MARK: Running

    public func run() async throws {
        let (stream, continuation) = AsyncStream<[Event]>.makeStream(bufferingPolicy: .unbounded)
        let subscription = await events.subscribe { continuation.yield($0) }
        // Sessions that were live before a restart get their workspace back.
        for session in await sessions.liveSessions() where session.phase == .starting || session.phase == .active {
            await carryOut(lifecycle.startWanted(session: session.id, restart: true, now: clock.now))
        }
        await withDiscardingTaskGroup { group in
            group.addTask { [self] in
                for await batch in stream { await self.observe(batch) }
            }
            group.addTask { [self] in
                for await exit in backend.exits { await self.crashed(exit) }
            }
            group.addTask { [self] in
                for await notice in backend.notices {
                    await record(.workspaceLimit, session: notice.session, WorkspaceLimitPayload(limit: notice.limit.rawValue, message: notice.message).fields)
                }
            }
            group.addTask { [self] in
                // Each job is a child task; cancelling the group at shutdown cancels them.
                await withDiscardingTaskGroup { running in
                    for await job in jobs { running.addTask { await self.run(job) } }
                }
            }
            group.addTask { [self] in await backend.run() }
            group.addTask { [self] in await self.tickPeriodically() }
            try? await gracefulShutdown()
            continuation.finish()
            jobContinuation.finish()
            group.cancelAll()
        }
        await events.unsubscribe(subscription)
        await backend.stopAll()
        await kitShutdown()
        logger.info("workspaces stopped")
    }

    private func observe(_ batch: [Event]) async {
        for event in batch {
            guard let session = event.session, let change = event.decode(PhaseChangedPayload.self) else { continue }
            switch change.phase {
            case .starting: await carryOut(lifecycle.startWanted(session: session, restart: false, now: clock.now))
            case .completed, .abandoned:
                // A job of its own: the last looks read the running workspace, and one that does
                // not answer must hold up neither the other teams' ends nor new teams' starts.
                jobContinuation.yield(.end(session: session))
            default: break
            }
        }
    }

    /// Makes sure the session's workspace runs when someone opens it: one stopped for being idle
    /// (or by a crash) starts again. Waits at most `wait` for a start; nil if it is not ready by
    /// then or failed (the caller says why). Over the start limit it throws ``Busy``.
    public func open(session: String, wait: Duration = .seconds(20)) async throws -> Workspace? {
        switch lifecycle.opening(session) {
        case .ready(let workspace): return workspace
        case .unavailable: return nil  // an instructor or member restarts it explicitly
        case .busy(let busy): throw busy
        case .start:
            guard let live = await sessions.session(session), !live.phase.isOver else { return nil }
            await carryOut(lifecycle.startWanted(session: session, restart: true, now: clock.now))
        case .wait: break
        }
        guard lifecycle.hasStart(session) else {
            if case .ready(let workspace)? = lifecycle.state(of: session) { return workspace }
            return nil
        }
        // Whichever comes first: the start, or the end of the wait (the start goes on regardless).
        // The wait is registered before this actor lets anything else in, so a start that ends
        // before the waiting task runs is not missed.
        let waiters = self.waiters
        let ticket = waiters.register(session)
        let started = await withTaskGroup(of: Workspace?.self) { group in
            group.addTask { await waiters.wait(ticket) }
            group.addTask {
                try? await Task.sleep(for: wait)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        // A start that ended as the wait ran out: the caller gets the workspace, not a 503.
        if started == nil, case .ready(let workspace)? = lifecycle.state(of: session) { return workspace }
        return started
    }

    /// Asks for the workspace to be started again (instructor command or a member coming back).
    public func restart(session: String) async throws {
        await carryOut(try lifecycle.restart(session: session, now: clock.now))
    }

    private func crashed(_ exit: WorkspaceExit) async {
        await carryOut(lifecycle.exited(session: exit.session, status: exit.status, log: exit.logTail, now: clock.now))
    }

    // MARK: Starts

    private func run(_ job: Job) async {
        switch job {
        case .attempt(let session, let number): await attempt(session: session, number: number)
        case .retry(let session, let delay):
            // Real time, not the platform's clock: a start's backoff is no schedule of the platform's.
            try? await Task.sleep(for: delay)
            guard !Task.isCancelled else { return await carryOut(lifecycle.startInterrupted(session: session, now: clock.now)) }
            await carryOut(lifecycle.retryDue(session: session, now: clock.now))
        case .end(let session):
            shared.withLock {
                $0.lastActivity[session] = nil
                $0.edited.remove(session)
            }
            // While the workspace still runs (or, stopped as idle, its files are still there).
            for look in lastLooks.withLock({ $0 }) { await look(session) }
            await carryOut(lifecycle.sessionEnded(session: session, now: clock.now))
        }
    }

    /// One attempt at starting the session's workspace, reported to the lifecycle.
    private func attempt(session: String, number: Int) async {
        guard let module = await sessions.module(ofSession: session) else {
            return await carryOut(lifecycle.startRefused(session: session, reason: "the session's module is no longer on offer", now: clock.now))
        }
        do {
            guard stillWanted(session) else { return await carryOut(lifecycle.startInterrupted(session: session, now: clock.now)) }
            let environment = try await kitEnvironment(module, session)
            // The session may have ended while its kit was being prepared.
            guard stillWanted(session) else { return await carryOut(lifecycle.startInterrupted(session: session, now: clock.now)) }
            let team = await sessions.session(session)
            let workspace = try await backend.start(
                WorkspaceRequest(
                    session: session, module: module, environment: environment, members: team?.members.map { ($0.user, $0.role) } ?? [],
                    condition: team?.condition))
            let actions = lifecycle.attemptSucceeded(session: session, workspace: workspace, path: workspace.path, now: clock.now)
            if case .ready(workspace)? = lifecycle.state(of: session) {
                places[session] = Place(directory: workspace.directory, environment: environment, workspaceID: workspace.id)
            }
            await carryOut(actions)
        } catch {
            // Cancelled: the server stops; nothing to tell.
            guard !Task.isCancelled else { return await carryOut(lifecycle.startInterrupted(session: session, now: clock.now)) }
            if lifecycle.isStartWanted(session) {
                logger.warning("workspace start failed", metadata: ["session": "\(session)", "attempt": "\(number)", "error": "\(error)"])
            }
            await carryOut(lifecycle.attemptFailed(session: session, error: "\(error)", now: clock.now))
        }
    }

    private func stillWanted(_ session: String) -> Bool { !Task.isCancelled && lifecycle.isStartWanted(session) }

    private func tickPeriodically() async {
        guard let interval = lifecycle.tickInterval else { return }
        var now = clock.now
        while !Task.isCancelled {
            // Due an interval after the last pass began, on the injected clock (tests move it on).
            do { try await clock.sleep(until: now.addingTimeInterval(interval.timeInterval)) } catch { return }
            now = clock.now
            for (session, time) in shared.withLock({ $0.lastActivity }) { lifecycle.activity(session: session, at: time) }
            await carryOut(lifecycle.tick(now: now))
        }
    }

    // MARK: Carrying out

    /// Publishes the lifecycle's new state to the lock-free readers, then does what it says, in order.
    private func carryOut(_ actions: [WorkspaceLifecycle<Workspace>.Action]) async {
        publish()
        for action in actions {
            switch action {
            case .attempt(let session, let number): jobContinuation.yield(.attempt(session: session, number: number))
            case .retry(let session, let delay): jobContinuation.yield(.retry(session: session, after: delay))
            case .stop(let session): await backend.stop(session: session)
            case .finish(let session): await backend.finish(session: session)
            case .cleanUpKit(let session):
                if let module = await sessions.module(ofSession: session) { await kitCleanup(module, session) }
            case .record(let type, let session, let payload):
                if type == .workspaceStarted, let started = try? JSONValueDecoder().decode(WorkspaceStartedPayload.self, from: .object(payload)) {
                    startTimer.recordNanoseconds(Int64(started.startMs * 1_000_000))
                }
                await record(type, session: session, payload)
            case .resumeWaiters(let session, let workspace): waiters.finish(session, with: workspace)
            }
        }
    }

    /// Copies what the proxy and the lobby read without waiting on the actor.
    private func publish() {
        let ready = lifecycle.readyWorkspaces
        routes.withLock { $0 = Dictionary(ready.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first }) }
        shared.withLock { $0.startsInFlight = lifecycle.startsInFlight }
        readyGauge.record(ready.count)
        waitingGauge.record(lifecycle.startsInFlight)
    }

    private func record(_ type: EventType, session: String, _ payload: [String: JSONValue]) async {
        do {
            _ = try await events.append(EventDraft(time: clock.now, type: type, actor: "system", session: session, payload: payload))
        } catch {
            logger.error("could not record a workspace event", metadata: ["session": "\(session)", "type": "\(type)", "error": "\(error)"])
        }
    }
}

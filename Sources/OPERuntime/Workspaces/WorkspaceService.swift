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
public actor WorkspaceService: Service {
    public struct Configuration: Sendable {
        /// Workspaces starting at the same time; more wait, and the lobby forms no new groups.
        public var maxConcurrentStarts = 4
        /// Attempts per start before the team is told it failed.
        public var startAttempts = 3
        /// A workspace nobody has touched for this long is stopped (its files stay); nil keeps it.
        public var idleTimeout: Duration? = .seconds(1800)
        /// Crashes within `crashWindow` after which it is not restarted again.
        public var crashLimit = 3
        public var crashWindow: Duration = .seconds(600)

        public init(maxConcurrentStarts: Int = 4, idleTimeout: Duration? = .seconds(1800)) {
            self.maxConcurrentStarts = maxConcurrentStarts
            self.idleTimeout = idleTimeout
        }
    }

    /// Where a session's workspace stands.
    public enum State: Sendable, Hashable {
        case waiting
        case starting
        case ready(Workspace)
        case stopped(reason: String)
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

    /// Thrown when a start cannot begin now; the API answers 429 with `Retry-After`.
    public struct Busy: Error, Sendable {
        public var retryAfterSeconds: Int
    }

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
    /// Idle culling's time: activity, readiness and the culling passes are measured on it.
    nonisolated let clock: any PlatformClock

    private var states: [String: State] = [:]
    /// Ready workspaces by id (the `/w/{id}/` segment), read by the proxy on every request.
    private nonisolated let routes = Mutex<[String: Workspace]>([:])
    /// Sessions whose start is queued or running, with whether it is a restart. Its size is
    /// mirrored in `shared.queued` for readers outside the actor.
    private var inFlight: [String: Bool] = [:] {
        didSet { shared.withLock { $0.queued = inFlight.count } }
    }
    /// Starts the session ended during: they stop quietly.
    private var abandonedStarts: Set<String> = []
    /// Starts are run by `run()`'s task group, in the order asked for.
    private nonisolated let startRequests: AsyncStream<String>
    private nonisolated let startContinuation: AsyncStream<String>.Continuation
    private nonisolated let waiters = StartWaiters()
    private var starting = 0
    private var slotWaiters: [CheckedContinuation<Void, Never>] = []
    private var crashes: [String: FailureWindow] = [:]
    /// When each ready workspace became ready (idle culling counts from there).
    private var readySince: [String: Date] = [:]
    /// The group's folder and kit settings from the last start, for test runs (also while stopped).
    private var places: [String: Place] = [:]
    /// Read by the lobby and the proxy without waiting on this actor.
    private nonisolated let shared = Mutex(Shared())
    private let startTimer = Metrics.Timer(label: "ope_workspace_start_duration")
    private let readyGauge = Gauge(label: "ope_workspaces_ready")
    private let waitingGauge = Gauge(label: "ope_workspace_starts_waiting")

    private struct Shared {
        var queued = 0
        var lastActivity: [String: Date] = [:]
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
        (startRequests, startContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    // MARK: Questions

    /// Whether a new workspace could start without waiting; the lobby forms groups only then.
    public nonisolated var hasStartCapacity: Bool {
        shared.withLock { $0.queued } < configuration.maxConcurrentStarts
    }

    /// The state of a session's workspace (nil: the session never had one).
    public func state(of session: String) -> State? { states[session] }

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
        shared.withLock { $0.lastActivity[session] = now }
    }

    /// When the proxy last saw traffic for the session's workspace (edits, runs); nil if never.
    public nonisolated func lastActivity(of session: String) -> Date? {
        shared.withLock { $0.lastActivity[session] }
    }

    // MARK: Running

    public func run() async throws {
        let (stream, continuation) = AsyncStream<[Event]>.makeStream(bufferingPolicy: .unbounded)
        let subscription = await events.subscribe { continuation.yield($0) }
        // Sessions that were live before a restart get their workspace back.
        for session in await sessions.liveSessions() where session.phase == .starting || session.phase == .active {
            ensureStarted(session: session.id, restart: true)
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
                    await record(.workspaceLimit, session: notice.session, ["limit": .string(notice.limit.rawValue), "message": .string(notice.message)])
                }
            }
            group.addTask { [self] in
                // Each start is a child task; cancelling the group at shutdown cancels them.
                await withDiscardingTaskGroup { starts in
                    for await session in startRequests { starts.addTask { await self.start(session: session) } }
                }
            }
            group.addTask { [self] in await backend.run() }
            group.addTask { [self] in await self.cullIdle() }
            try? await gracefulShutdown()
            continuation.finish()
            startContinuation.finish()
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
            case .starting: ensureStarted(session: session, restart: false)
            case .completed, .abandoned: await end(session: session)
            default: break
            }
        }
    }

    /// Queues a start of the session's workspace unless it runs or is starting; returns at once.
    private func ensureStarted(session: String, restart: Bool) {
        guard inFlight[session] == nil else { return }
        if case .ready = states[session] { return }
        states[session] = .waiting
        inFlight[session] = restart
        abandonedStarts.remove(session)
        startContinuation.yield(session)
    }

    /// Makes sure the session's workspace runs when someone opens it: one stopped for being idle
    /// (or by a crash) starts again. Waits at most `wait` for a start; nil if it is not ready by
    /// then or failed (the caller says why). Over the start limit it throws ``Busy``.
    public func open(session: String, wait: Duration = .seconds(20)) async throws -> Workspace? {
        switch states[session] {
        case .ready(let workspace): return workspace
        case .failed: return nil  // an instructor or member restarts it explicitly
        case .stopped, nil:
            guard inFlight[session] == nil else { break }
            guard hasStartCapacity else {
                throw Busy(retryAfterSeconds: max(1, 2 * shared.withLock { $0.queued } / max(1, configuration.maxConcurrentStarts)))
            }
            guard let live = await sessions.session(session), !live.phase.isOver else { return nil }
            ensureStarted(session: session, restart: true)
        case .waiting, .starting: break
        }
        guard inFlight[session] != nil else { return readyWorkspace(session) }
        // Whichever comes first: the start, or the end of the wait (the start goes on regardless).
        let waiters = self.waiters
        return await withTaskGroup(of: Workspace?.self) { group in
            group.addTask { await waiters.wait(for: session) }
            group.addTask {
                try? await Task.sleep(for: wait)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    private func readyWorkspace(_ session: String) -> Workspace? {
        if case .ready(let workspace) = states[session] { return workspace }
        return nil
    }

    private func start(session: String) async {
        let restart = inFlight[session] ?? false
        await acquireSlot()
        var result: Workspace?
        defer {
            releaseSlot()
            inFlight[session] = nil
            abandonedStarts.remove(session)
            waiters.finish(session, with: result)
        }
        guard let module = await sessions.module(ofSession: session) else {
            states[session] = .failed("the session's module is no longer on offer")
            return
        }
        states[session] = .starting
        let began = ContinuousClock.now
        var lastError = ""
        for attempt in 1...configuration.startAttempts {
            if Task.isCancelled || abandonedStarts.contains(session) { break }
            do {
                let environment = try await kitEnvironment(module, session)
                // The session may have ended while its kit was being prepared.
                if Task.isCancelled || abandonedStarts.contains(session) { break }
                let workspace = try await backend.start(WorkspaceRequest(session: session, module: module, environment: environment))
                // The session ended while it started: it goes again at once.
                if abandonedStarts.contains(session) {
                    await backend.stop(session: session)
                    break
                }
                places[session] = Place(directory: workspace.directory, environment: environment, workspaceID: workspace.id)
                let elapsed = ContinuousClock.now - began
                startTimer.recordNanoseconds(elapsed.nanoseconds)
                if let old = states[session], case .ready(let previous) = old { removeRoute(previous) }
                states[session] = .ready(workspace)
                readySince[session] = clock.now
                routes.withLock { $0[workspace.id] = workspace }
                readyGauge.record(readyCount)
                await record(
                    .workspaceStarted, session: session,
                    ["path": .string(workspace.path), "startMs": .number(elapsed.milliseconds), "attempt": .number(Double(attempt)), "restart": .bool(restart)]
                )
                result = workspace
                return
            } catch {
                if Task.isCancelled || abandonedStarts.contains(session) { break }
                lastError = "\(error)"
                logger.warning("workspace start failed", metadata: ["session": "\(session)", "attempt": "\(attempt)", "error": "\(error)"])
                if attempt < configuration.startAttempts { try? await Task.sleep(for: .seconds(attempt)) }
            }
        }
        // Cancelled: the session ended or the server stops; nothing to tell.
        if Task.isCancelled || abandonedStarts.contains(session) {
            return
        }
        states[session] = .failed(lastError)
        await record(.workspaceFailed, session: session, ["error": .string(Self.excerpt(lastError)), "attempts": .number(Double(configuration.startAttempts))])
        // The team can still talk and the bot still runs; an instructor can retry the workspace.
    }

    /// Asks for the workspace to be started again (instructor command or a member coming back).
    public func restart(session: String) async throws {
        if inFlight[session] != nil { return }
        guard hasStartCapacity else { throw Busy(retryAfterSeconds: 2) }
        if case .ready(let workspace) = states[session] {
            removeRoute(workspace)
            readySince[session] = nil
            await backend.stop(session: session)
        }
        states[session] = nil
        crashes[session] = nil
        ensureStarted(session: session, restart: true)
    }

    private func crashed(_ exit: WorkspaceExit) async {
        guard case .ready(let workspace) = states[exit.session] else { return }
        removeRoute(workspace)
        states[exit.session] = .stopped(reason: "crashed")
        readyGauge.record(readyCount)
        readySince[exit.session] = nil
        let now = ContinuousClock.now
        var window = crashes[exit.session] ?? FailureWindow(limit: configuration.crashLimit, window: configuration.crashWindow)
        window.recordFailure(now: now)
        crashes[exit.session] = window
        let restarting = window.retryAfter(now: now) == nil
        await record(
            .workspaceCrashed, session: exit.session,
            ["status": .number(Double(exit.status)), "log": .string(Self.excerpt(exit.logTail)), "restarting": .bool(restarting)]
        )
        if restarting {
            ensureStarted(session: exit.session, restart: true)
        } else {
            let count = window.failures.count
            states[exit.session] = .failed("crashed \(count) times in \(configuration.crashWindow); not restarted")
            await record(.workspaceFailed, session: exit.session, ["error": .string("the workspace crashed \(count) times; an instructor can restart it")])
        }
    }

    private func end(session: String) async {
        // A start in progress notices (its process is stopped below) and gives up quietly.
        if inFlight[session] != nil { abandonedStarts.insert(session) }
        let wasRunning = states[session].map { if case .ready = $0 { true } else { false } } ?? false
        if case .ready(let workspace)? = states[session] { removeRoute(workspace) }
        await backend.finish(session: session)
        if let module = await sessions.module(ofSession: session) { await kitCleanup(module, session) }
        states[session] = .stopped(reason: "ended")
        readySince[session] = nil
        shared.withLock { $0.lastActivity[session] = nil }
        readyGauge.record(readyCount)
        if wasRunning { await record(.workspaceStopped, session: session, ["reason": "ended"]) }
    }

    private func cullIdle() async {
        guard let timeout = configuration.idleTimeout else { return }
        let policy = IdlePolicy(timeout: timeout)
        var now = clock.now
        while !Task.isCancelled {
            // Due a check interval after the last pass began, on the injected clock (tests move it on).
            do { try await clock.sleep(until: now.addingTimeInterval(policy.checkInterval.timeInterval)) } catch { return }
            now = clock.now
            let activity = shared.withLock { $0.lastActivity }
            for session in policy.idle(running: readySince, lastActivity: activity, now: now) {
                guard case .ready(let workspace) = states[session] else { continue }
                removeRoute(workspace)
                states[session] = .stopped(reason: "idle")
                readySince[session] = nil
                await backend.stop(session: session)
                readyGauge.record(readyCount)
                await record(.workspaceStopped, session: session, ["reason": "idle", "idleSeconds": .number(Double(DurationText.seconds(timeout)))])
            }
        }
    }

    // MARK: Helpers

    private func removeRoute(_ workspace: Workspace) {
        routes.withLock { $0[workspace.id] = nil }
    }

    private var readyCount: Int { states.values.reduce(0) { if case .ready = $1 { $0 + 1 } else { $0 } } }

    private func acquireSlot() async {
        waitingGauge.record(shared.withLock { $0.queued })
        if starting < configuration.maxConcurrentStarts {
            starting += 1
            return
        }
        await withCheckedContinuation { slotWaiters.append($0) }
    }

    private func releaseSlot() {
        if slotWaiters.isEmpty {
            starting -= 1
        } else {
            slotWaiters.removeFirst().resume()
        }
    }

    private func record(_ type: EventType, session: String, _ payload: [String: JSONValue]) async {
        do {
            _ = try await events.append(EventDraft(time: Date(), type: type, actor: "system", session: session, payload: payload))
        } catch {
            logger.error("could not record a workspace event", metadata: ["session": "\(session)", "type": "\(type)", "error": "\(error)"])
        }
    }

    static func excerpt(_ text: String, limit: Int = 2000) -> String {
        text.count <= limit ? text : "…" + String(text.suffix(limit))
    }
}

/// Callers waiting for a session's start to finish; a waiter that is cancelled (its wait ran out)
/// gets nil at once. Kept outside the actor so cancellation can answer without hopping to it.
private final class StartWaiters: Sendable {
    private enum Entry {
        case waiting(String, CheckedContinuation<Workspace?, Never>)
        case cancelled
    }

    private let entries = Mutex<[UUID: Entry]>([:])

    func wait(for session: String) async -> Workspace? {
        let id = UUID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let cancelled = entries.withLock { entries -> Bool in
                    if case .cancelled? = entries[id] {
                        entries[id] = nil
                        return true
                    }
                    entries[id] = .waiting(session, continuation)
                    return false
                }
                if cancelled { continuation.resume(returning: nil) }
            }
        } onCancel: {
            let waiting = entries.withLock { entries -> CheckedContinuation<Workspace?, Never>? in
                if case .waiting(_, let continuation)? = entries[id] {
                    entries[id] = nil
                    return continuation
                }
                entries[id] = .cancelled
                return nil
            }
            waiting?.resume(returning: nil)
        }
    }

    /// The start of `session` is over: its waiters get the workspace (nil if it failed).
    func finish(_ session: String, with workspace: Workspace?) {
        let done = entries.withLock { entries -> [CheckedContinuation<Workspace?, Never>] in
            var done: [CheckedContinuation<Workspace?, Never>] = []
            for (id, entry) in entries {
                guard case .waiting(let waiting, let continuation) = entry, waiting == session else { continue }
                entries[id] = nil
                done.append(continuation)
            }
            return done
        }
        for continuation in done { continuation.resume(returning: workspace) }
    }
}

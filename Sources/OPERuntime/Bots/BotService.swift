import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import OPEBot
import OPECore
import OPEModules
import OPEStore
import OPEWorkspaces
import ServiceLifecycle

/// Runs every session's guiding bot: one ``PlanEngine`` per session whose module (or experiment
/// condition) has a plan, fed with the session's committed events and the clock; what the engine
/// decides becomes events in the log (bot messages travel through the room like a member's,
/// role changes are the same `role.changed` events as any other).
///
/// Events and clock ticks go through one queue with one consumer, so a bot's actions are carried
/// out in the order it decided them. Slow actions (a command in the workspace, an outside HTTP
/// call) run beside the queue and report back; a failing action is recorded as `bot.warning` and
/// the session goes on.
///
/// A waiting bot costs nothing: the engines live in one ``PlanFleet`` whose deadlines sit in a
/// min-heap keyed by absolute time, so a tick runs only the bots that are due, and workspace
/// edits come from the sessions the workspace service marked as edited since the last tick
/// (``WorkspaceService/takeEdits()``), not from asking every bot's workspace. Launches of teams
/// that complete together are spread by a per-session offset (``PlanEngine/launchOffset(session:)``).
public actor BotService: Service {
    /// The bot's actor name in events; members cannot take it (user names have no `:`).
    public static let actor = "bot"

    /// What the service keeps beside a session's engine (a class: looked up on every event of the
    /// session without copying the module and plan).
    final class Bot {
        let module: Module
        let plan: BotPlan
        /// The bot said the activity is over: the session completes when it leaves.
        var ended = false
        var lastEdit: Date?

        init(module: Module, plan: BotPlan) {
            self.module = module
            self.plan = plan
        }
    }

    enum Work: Sendable {
        case events([Event])
        case tick
    }

    let sessions: SessionManager
    let store: Store
    let workspaces: WorkspaceService?
    /// Where a plan's `run` steps run; nil without workspaces.
    let commands: Commands?
    let logger: Logger
    /// The plans' time: steps, delays, reading times and timeouts run on it.
    let clock: any PlatformClock
    let tickInterval: Duration
    var bots: [String: Bot] = [:]
    /// The bots' engines and their next deadlines.
    var fleet = PlanFleet()
    /// Events decided in one engine step, committed together (one transaction, one fsync).
    var pending: [EventDraft] = []
    let queue: AsyncStream<Work>
    let enqueue: AsyncStream<Work>.Continuation
    private let running = Gauge(label: "ope_bots_running")
    private let actionsCounter = Counter(label: "ope_bot_actions_total")

    public init(
        sessions: SessionManager, store: Store, workspaces: WorkspaceService?, commands: Commands? = nil, logger: Logger = Logger(label: "ope.bot"),
        clock: any PlatformClock = SystemClock(), tickInterval: Duration = .milliseconds(250)
    ) {
        self.sessions = sessions
        self.store = store
        self.workspaces = workspaces
        self.commands = commands
        self.logger = logger
        self.clock = clock
        self.tickInterval = tickInterval
        (queue, enqueue) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// How a plan's `run` steps are run: in a sandbox, like the team's own code.
    public struct Commands: Sendable {
        public var sandbox: Sandbox
        public var venv: String?
        public var limits: WorkspaceLimits.Changes

        public init(sandbox: Sandbox, venv: String?, limits: WorkspaceLimits.Changes) {
            self.sandbox = sandbox
            self.venv = venv
            self.limits = limits
        }
    }

    /// Whether a session has a bot running (for tests and the dashboard).
    public func hasBot(_ session: String) -> Bool { bots[session] != nil }

    public func run() async throws {
        await withEventFeed(from: store.events, into: enqueue, clock: clock, tick: tickInterval, events: Work.events, tick: .tick) { group in
            await restore()
            for await work in queue {
                await process(work, group: &group)
                // Everything the bots decided in this pass, in one commit.
                do {
                    try await flush()
                } catch {
                    logger.error("bot events not recorded", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    func process(_ work: Work, group: inout TaskGroup<Void>) async {
        switch work {
        case .events(let events):
            for event in events { await handle(event, group: &group) }
        case .tick:
            let now = clock.now
            // Only the sessions edited since the last tick, only the bots that are due.
            for (id, activity) in workspaces?.takeEdits() ?? [:] {
                guard let bot = bots[id], activity != bot.lastEdit else { continue }
                bot.lastEdit = activity
                await perform(id, input: .edit, at: now, group: &group)
            }
            for id in fleet.takeDue(at: now) { await advance(id, to: now, group: &group) }
            running.record(bots.count)
        }
    }

    // MARK: Events in

    func handle(_ event: Event, group: inout TaskGroup<Void>) async {
        guard let id = event.session else { return }
        if event.type == .sessionFormed {
            await start(session: id, formed: event)
            return
        }
        guard let bot = bots[id] else { return }
        if event.type == .sessionPhaseChanged, event.decode(PhaseChangedPayload.self)?.phase.isOver == true {
            remove(id)
            return
        }
        guard let input = Self.input(for: event, module: bot.module, plan: bot.plan) else { return }
        // An input counts from when it was recorded, as a replay after a restart counts it, however
        // late the bot gets to it; a stamp later than the bot's own clock (from another clock) is
        // taken as now, so it cannot move the plan ahead of its ticks.
        await perform(id, input: input, at: min(event.time, clock.now), group: &group)
    }

    /// The engine input an event stands for, if any (the bot's own events are not inputs).
    static func input(for event: Event, module: Module, plan: BotPlan) -> PlanEngine.Input? {
        switch event.type {
        case .presenceJoined: return event.actor.map { .joined($0) }
        case .presenceLeft: return event.actor.map { .left($0) }
        case .chatMessage:
            guard let user = event.actor, let chat = event.decode(ChatPayload.self) else { return nil }
            return .chat(user: user, text: chat.text)
        case .testResult:
            guard let result = event.decode(TestResultPayload.self) else { return nil }
            return .testResult(task: result.task, passed: result.passed)
        case .botRun: return .runFinished
        case .workspaceEdited:
            // Attributed edits (the proxy's); a batch without a member counts for `idle` only, as
            // the workspace service's traffic marks do.
            guard let user = event.actor, let edited = event.decode(EditedPayload.self) else { return nil }
            return .edited(user: user, updates: edited.updates)
        case .workspaceExecuted:
            guard let user = event.actor, let run = event.decode(ExecutedPayload.self) else { return nil }
            return .executed(
                PlanEngine.Execution(user: user, outcome: run.outcome, errorName: run.errorName, errorValue: run.errorValue, cell: run.cell))
        case .roleChanged where event.actor != actor:
            guard let changed = event.decode(RolesPayload.self) else { return nil }
            return .rolesChanged(changed.roles.mapValues { role in plan.settings.roles.first { PlanLoader.moduleRole($0, in: module) == role } ?? role })
        default: return nil
        }
    }

    /// The plan's name for the module's first role (the driver's), which `driverIdle` triggers watch.
    static func driverRole(plan: BotPlan, module: Module) -> String? {
        guard let first = module.roles.first else { return nil }
        return plan.settings.roles.first { PlanLoader.moduleRole($0, in: module) == first } ?? first
    }

    /// A new session of a module with a plan gets its bot.
    func start(session id: String, formed: Event) async {
        guard let team = formed.decode(SessionFormedPayload.self), let module = await sessions.module(named: team.module) else { return }
        let (plan, _) = module.bot(condition: team.condition)
        guard let plan else { return }
        // The plan waits for the team that formed (a group of one starts at once).
        let size = team.members.isEmpty ? module.group.target : team.members.count
        let engine = PlanEngine(
            plan: plan, teamSize: size, seed: SeededGenerator.seed(id), launchDelay: PlanEngine.launchOffset(session: id),
            driverRole: Self.driverRole(plan: plan, module: module))
        bots[id] = Bot(module: module, plan: plan)
        fleet.add(id, engine: engine, origin: formed.time)
        logger.info("bot started", metadata: ["session": "\(id)", "plan": "\(plan.name)"])
    }

    /// The session's bot is gone: its engine and deadline with it.
    func remove(_ id: String) {
        bots[id] = nil
        fleet.remove(id)
    }

    func perform(_ id: String, input: PlanEngine.Input, at time: Date, group: inout TaskGroup<Void>) async {
        guard bots[id] != nil else { return }
        let actions = fleet.handle(input, for: id, at: time)
        await execute(actions, session: id, group: &group)
    }

    /// Runs a due bot's timers.
    func advance(_ id: String, to time: Date, group: inout TaskGroup<Void>) async {
        guard bots[id] != nil else { return }
        let actions = fleet.advance(id, to: time)
        await execute(actions, session: id, group: &group)
    }

    // MARK: Actions out

    func execute(_ actions: [PlanEngine.Action], session id: String, group: inout TaskGroup<Void>) async {
        for action in actions {
            guard let bot = bots[id] else { return }
            actionsCounter.increment()
            var logger = logger
            logger[metadataKey: "session"] = "\(id)"
            do {
                try await execute(action.kind, bot: bot, session: id, group: &group, logger: logger)
            } catch {
                logger.error("bot action failed", metadata: ["action": "\(action.kind)", "error": "\(error)"])
                record(.botWarning, id, BotWarningPayload(message: "the bot could not \(PlanSimulator.describe(action.kind)): \(error)"))
            }
        }
    }

    /// Queues an event of the bot; ``flush()`` commits the queue.
    func record(_ type: EventType, _ session: String, _ payload: some EventPayload) {
        pending.append(EventDraft(time: clock.now, type: type, actor: Self.actor, session: session, payload: payload))
    }

    /// Queues an event of the bot that has no payload.
    func record(_ type: EventType, _ session: String) {
        pending.append(EventDraft(time: clock.now, type: type, actor: Self.actor, session: session))
    }

    func flush() async throws {
        guard !pending.isEmpty else { return }
        let drafts = pending
        pending.removeAll()
        _ = try await store.events.append(contentsOf: drafts)
    }

    func execute(_ kind: PlanEngine.Kind, bot: Bot, session id: String, group: inout TaskGroup<Void>, logger: Logger) async throws {
        switch kind {
        case .launched:
            record(.botStep, id, BotStepPayload.launched(plan: bot.plan.name))
        case .stage(let name):
            record(.botStep, id, BotStepPayload.stage(name))
        case .step(let stage, let step):
            record(.botStep, id, BotStepPayload.step(stage: stage, step: step))
        case .finished:
            record(.botStep, id, BotStepPayload.finished)
            if bot.ended { try await leave(id, bot: bot) }
        case .say(let text, let prompt):
            record(.botMessage, id, BotMessagePayload(text: text, name: bot.plan.settings.botName, prompt: prompt))
        case .roles(let map, let reason):
            try await flush()
            var roles: [String: String] = [:]
            for (user, role) in map { roles[user] = PlanLoader.moduleRole(role, in: bot.module) ?? role }
            try await sessions.assignRoles(session: id, roles: roles, reason: reason, by: Self.actor)
        case .command(let command):
            record(.botCommand, id, BotCommandPayload(command: command))
        case .run(let command, let timeout):
            guard let place = await workspaces?.files(of: id), let commands else {
                record(.botRun, id, BotRunPayload(command: command, error: "the session has no workspace"))
                return
            }
            let limits = bot.module.workspaceLimits(server: commands.limits)
            // The step finishes when the `bot.run` event comes back through the log.
            group.addTask { [store, clock] in
                var payload = BotRunPayload(command: command)
                do {
                    // In the team's folder, so in a sandbox: as the team's own account while its
                    // workspace runs (what it writes stays the team's), never as the server.
                    let result = try await commands.sandbox.run(
                        command, home: place.directory, homeWritable: true, shareAccountWith: place.workspaceID, environment: place.environment,
                        venv: commands.venv, limits: limits, timeout: .seconds(timeout)
                    )
                    payload.status = result.status
                    payload.timedOut = result.timedOut
                    payload.output = String(result.output.suffix(4000))
                } catch {
                    payload.error = "\(error)"
                }
                _ = try? await store.events.append(EventDraft(time: clock.now, type: .botRun, actor: Self.actor, session: id, payload: payload))
            }
        case .external(let message):
            var payload = BotExternalPayload(message: message, url: nil)
            if let base = bot.plan.settings.externalURL {
                // Bazaar's form: GET <url>?session_id=<room>&<message>. Sent beside the plan with a
                // time limit: an outside system never holds the bot up.
                let separator = base.contains("?") ? "&" : "?"
                let url = base + separator + "session_id=" + id + "&" + message
                payload.url = url
                group.addTask { [store, clock] in
                    var request = HTTPClientRequest(url: url)
                    request.method = .GET
                    do {
                        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
                        guard (200..<300).contains(Int(response.status.code)) else { throw CommandError("answered \(response.status)") }
                    } catch {
                        let warning = EventDraft(
                            time: clock.now, type: .botWarning, actor: Self.actor, session: id,
                            payload: BotWarningPayload(message: "external message '\(message)' not delivered: \(error)")
                        )
                        _ = try? await store.events.append(warning)
                    }
                }
            }
            record(.botExternal, id, payload)
        case .log(let tag, let details):
            record(.botLog, id, BotLogPayload(tag: tag, details: details))
        case .postChatLog:
            try await postChatLog(id)
        case .end:
            bot.ended = true
            record(.botEnd, id)
        case .logout:
            try await leave(id, bot: bot)
        case .warning(let message):
            logger.warning("plan problem", metadata: ["message": "\(message)"])
            record(.botWarning, id, BotWarningPayload(message: message))
        case .triggered(let name, let detail):
            // What it says follows as `bot.message` events, whose `prompt` names the trigger's text.
            logger.debug("trigger fired", metadata: ["trigger": "\(name)", "detail": "\(detail)"])
        }
    }

    /// The bot leaves; if it declared the activity over, the session completes.
    func leave(_ id: String, bot: Bot) async throws {
        remove(id)
        record(.botStopped, id)
        try await flush()
        if bot.ended { _ = try await sessions.complete(session: id, by: Self.actor) }
    }

    /// Writes the team's chat (members and bot) into their workspace folder as `chat-log.txt`.
    func postChatLog(_ id: String) async throws {
        try await flush()
        var lines: [String] = []
        try await store.reader.forEach(EventFilter(session: id, types: [.chatMessage, .botMessage])) { page in
            for event in page {
                guard let line = event.chatLine else { continue }
                lines.append("[\(EventExporter.timestamp(event.time))] \(line.speaker): \(line.text)")
            }
        }
        var payload = ChatLogPayload(messages: lines.count, file: nil)
        if let place = await workspaces?.files(of: id) {
            let file = place.directory + "/chat-log.txt"
            try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            payload.file = "chat-log.txt"
        }
        record(.botChatLog, id, payload)
    }

    // MARK: Restart

    /// Rebuilds the bots of live sessions by replaying their events into fresh engines (same seed,
    /// same inputs, same decisions); what they decided before the restart is not done again.
    func restore() async {
        var hasPlan: [String: Bool] = [:]
        for session in await sessions.liveSessions() {
            // Only a session that can have a plan bot has its log read (a restart with thousands of
            // live teams of a module without one read each team's whole log for nothing).
            if hasPlan[session.module] == nil { hasPlan[session.module] = await sessions.module(named: session.module)?.hasBotPlan ?? false }
            guard hasPlan[session.module] == true else { continue }
            do {
                var formed: Event?
                var history: [Event] = []
                try await store.reader.forEach(EventFilter(session: session.id)) { page in
                    for event in page {
                        if event.type == .sessionFormed { formed = event } else { history.append(event) }
                    }
                }
                guard let formed else { continue }
                await start(session: session.id, formed: formed)
                guard let bot = bots[session.id], var engine = fleet.engine(of: session.id) else { continue }
                var stopped = false
                for event in history {
                    if event.type == .botStopped { stopped = true }
                    if event.type == .botEnd { bot.ended = true }
                    let seconds = event.time.timeIntervalSince(formed.time)
                    _ = engine.advance(to: seconds)
                    if let input = Self.input(for: event, module: bot.module, plan: bot.plan) { _ = engine.handle(input, at: seconds) }
                }
                if stopped {
                    remove(session.id)
                } else {
                    // The replayed engine, with its next deadline in the queue.
                    fleet.add(session.id, engine: engine, origin: formed.time)
                }
            } catch {
                logger.error("could not restore the bot", metadata: ["session": "\(session.id)", "error": "\(error)"])
            }
        }
    }
}

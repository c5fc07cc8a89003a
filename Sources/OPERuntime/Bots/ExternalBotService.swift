import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import OPEBot
import OPECore
import OPEStore
import ServiceLifecycle

/// Connects sessions to their module's external bot (webhook or chat-completions endpoint).
///
/// The event log is the outbox: each session has a durable cursor, and the events after it are
/// delivered one at a time, in order, each with an idempotency key (`<session>:<event id>`). The
/// bot's replies are committed in the same transaction that moves the cursor, so after a crash or
/// an outage nothing is lost and nothing is recorded twice. Failures are retried with backoff and
/// jitter behind a circuit breaker per endpoint; an event the endpoint keeps refusing (4xx,
/// garbage) is given up after a few attempts and recorded as `external_bot.gave_up`. All of this
/// runs beside the room: the team's chat never waits on a bot.
public actor ExternalBotService: Service {
    /// The actor of the external bot's messages; its own messages are not sent back to it.
    public static let actor = "assistant"
    /// What an external bot hears about.
    public static let deliveredTypes: [EventType] = [
        .chatMessage, .botMessage, .botCommand, .presenceJoined, .presenceLeft, .roleChanged, .testResult, .sessionMemberJoined, .sessionPhaseChanged,
    ]
    static let maxRefusals = 5

    struct Delivery {
        let bot: ExternalBot
        let module: String
        let condition: String?
        var cursor: Int64
        /// Events after the cursor (for the queue-depth gauge).
        var pending: Int
        var attempts = 0
        var notBefore: Double = 0
        var inFlight = false
        var over = false
        /// An `external_bot.unavailable` event was recorded and no delivery succeeded since.
        var reportedDown = false
    }

    enum Outcome: Sendable {
        case nothingPending
        case delivered(Event, ExternalBotClient.Reply)
        case failed(Event, ExternalBotClient.Failure)
    }

    enum Work: Sendable {
        case events([Event])
        case tick
        case done(session: String, Outcome)
    }

    let sessions: SessionManager
    let store: Store
    let client: HTTPClient
    let logger: Logger
    let retry: RetryPolicy
    /// Retries, backoff and the breakers' cooldowns run on this clock's time.
    let clock: any PlatformClock
    let tickInterval: Duration
    var deliveries: [String: Delivery] = [:]
    var breakers: [String: CircuitBreaker] = [:]
    let start: Date
    let queue: AsyncStream<Work>
    let enqueue: AsyncStream<Work>.Continuation
    private let deliveredCounter = Counter(label: "ope_external_bot_deliveries_total", dimensions: [("result", "ok")])
    private let retriedCounter = Counter(label: "ope_external_bot_deliveries_total", dimensions: [("result", "retry")])
    private let gaveUpCounter = Counter(label: "ope_external_bot_deliveries_total", dimensions: [("result", "gave_up")])

    public init(
        sessions: SessionManager, store: Store, client: HTTPClient = .shared, logger: Logger = Logger(label: "ope.external-bot"),
        retry: RetryPolicy = RetryPolicy(), clock: any PlatformClock = SystemClock(), tickInterval: Duration = .milliseconds(100)
    ) {
        self.sessions = sessions
        self.store = store
        self.client = client
        self.logger = logger
        self.retry = retry
        self.clock = clock
        self.start = clock.now
        self.tickInterval = tickInterval
        (queue, enqueue) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Events of `session` not yet delivered (tests, dashboard).
    public func backlog(of session: String) -> Int? { deliveries[session]?.pending }

    /// Seconds since the service was made, on its clock (what the breakers and backoff count in).
    var now: Double { clock.now.timeIntervalSince(start) }

    public func run() async throws {
        await withEventFeed(from: store.events, into: enqueue, clock: clock, tick: tickInterval, events: Work.events, tick: .tick) { group in
            await restore()
            for await work in queue {
                switch work {
                case .events(let events): await received(events)
                case .tick: dispatch(group: &group)
                case .done(let session, let outcome): await finish(session, outcome)
                }
            }
        }
    }

    static func relevant(_ event: Event) -> Bool { deliveredTypes.contains(event.type) && event.actor != actor }

    // MARK: Sessions

    func received(_ events: [Event]) async {
        for event in events {
            guard let id = event.session else { continue }
            if event.type == .sessionFormed {
                await register(id, formed: event, cursor: 0, pending: 0)
                continue
            }
            guard deliveries[id] != nil, Self.relevant(event) else { continue }
            deliveries[id]?.pending += 1
            if event.decode(PhaseChangedPayload.self)?.phase.isOver == true {
                deliveries[id]?.over = true
            }
        }
    }

    func register(_ id: String, formed: Event, cursor: Int64, pending: Int) async {
        guard let team = formed.decode(SessionFormedPayload.self), let module = await sessions.module(named: team.module) else { return }
        guard let bot = module.bot(condition: team.condition).externalBot else { return }
        deliveries[id] = Delivery(bot: bot, module: team.module, condition: team.condition, cursor: cursor, pending: pending)
        if breakers[bot.url] == nil {
            breakers[bot.url] = CircuitBreaker(threshold: bot.breakerFailures, cooldown: Double(DurationText.seconds(bot.breakerCooldown)))
        }
    }

    /// After a restart: every live session with an external bot picks up at its cursor.
    func restore() async {
        do {
            let cursors = try await store.externalBotCursors.all()
            for session in await sessions.liveSessions() {
                guard let formed = try await store.reader.events(EventFilter(session: session.id, types: [.sessionFormed]), limit: 1).first else { continue }
                let cursor = cursors[session.id] ?? 0
                var pending = 0
                try await store.reader.forEach(EventFilter(afterID: cursor, session: session.id, types: Self.deliveredTypes)) { page in
                    pending += page.filter(Self.relevant).count
                }
                await register(session.id, formed: formed, cursor: cursor, pending: pending)
            }
        } catch {
            logger.error("could not restore external bot deliveries", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Delivery

    /// Starts a delivery for every session that has something to send and may send now.
    func dispatch(group: inout TaskGroup<Void>) {
        let now = self.now
        for (id, delivery) in deliveries where !delivery.inFlight && delivery.pending > 0 && now >= delivery.notBefore {
            guard breakers[delivery.bot.url]?.allow(now: now) ?? true else { continue }
            deliveries[id]?.inFlight = true
            let client = ExternalBotClient(bot: delivery.bot, client: self.client)
            group.addTask { [store, enqueue] in
                let outcome = await Self.deliverNext(session: id, delivery: delivery, client: client, store: store)
                enqueue.yield(.done(session: id, outcome))
            }
        }
        recordGauges()
    }

    /// Breaker state and queue depth per external bot, for `/metrics`.
    func recordGauges() {
        for (url, breaker) in breakers {
            let name = deliveries.values.first { $0.bot.url == url }?.bot.name ?? url
            Gauge(label: "ope_external_bot_breaker_state", dimensions: [("bot", name)]).record(breaker.state.gaugeValue)
            Gauge(label: "ope_external_bot_queue_depth", dimensions: [("bot", name)])
                .record(deliveries.values.filter { $0.bot.url == url }.reduce(0) { $0 + $1.pending })
        }
    }

    static func deliverNext(session id: String, delivery: Delivery, client: ExternalBotClient, store: Store) async -> Outcome {
        do {
            let candidates = try await store.reader.events(EventFilter(afterID: delivery.cursor, session: id, types: deliveredTypes), limit: 50)
            guard let event = candidates.first(where: relevant) else { return .nothingPending }
            guard client.needsCall(event) else { return .delivered(event, .init()) }
            var context: [Event] = []
            if case .chatCompletions(_, _, let size, _, _) = delivery.bot.kind {
                // The chat up to this message, newest `size` of it: one indexed read, not the whole history.
                let filter = EventFilter(session: id, types: [.chatMessage, .botMessage], upToID: event.id)
                context = try await store.reader.latest(filter, limit: size).reversed()
            }
            do {
                let reply = try await client.deliver(event, session: id, module: delivery.module, condition: delivery.condition, context: context)
                return .delivered(event, reply)
            } catch {
                return .failed(event, error)
            }
        } catch {
            return .nothingPending
        }
    }

    /// Records what a delivery came to. The session stays `inFlight` until the end, so no second
    /// delivery starts while this one's results are being committed.
    func finish(_ id: String, _ outcome: Outcome) async {
        guard var delivery = deliveries[id] else { return }
        let believedPending = delivery.pending
        var consumed = 0
        var logger = logger
        logger[metadataKey: "session"] = "\(id)"
        switch outcome {
        case .nothingPending:
            consumed = believedPending
        case .delivered(let event, let reply):
            var drafts = reply.messages.map { text in
                EventDraft(
                    time: clock.now, type: .botMessage, actor: Self.actor, session: id,
                    payload: BotMessagePayload(text: text, name: delivery.bot.name, replyTo: event.id))
            }
            drafts += reply.commands.map { command in
                EventDraft(time: clock.now, type: .botCommand, actor: Self.actor, session: id, payload: BotCommandPayload(command: command, replyTo: event.id))
            }
            if delivery.reportedDown {
                drafts.append(
                    EventDraft(
                        time: clock.now, type: .externalBotRecovered, actor: Self.actor, session: id,
                        payload: ExternalBotRecoveredPayload(bot: delivery.bot.name)))
            }
            do {
                if drafts.isEmpty {
                    try await store.externalBotCursors.set(session: id, delivered: event.id)
                } else {
                    _ = try await store.events.append(contentsOf: drafts) { db in try ExternalBotCursors.write(db, session: id, delivered: event.id) }
                }
            } catch {
                // Not recorded: the event goes out again with the same idempotency key.
                logger.error("could not record the external bot's reply", metadata: ["error": "\(error)"])
                deliveries[id]?.inFlight = false
                return
            }
            delivery.cursor = event.id
            consumed = 1
            delivery.attempts = 0
            delivery.reportedDown = false
            _ = breakers[delivery.bot.url]?.succeeded()
            deliveredCounter.increment()
        case .failed(let event, let failure):
            delivery.attempts += 1
            let opened = breakers[delivery.bot.url]?.failed(now: now)
            logger.warning(
                "external bot delivery failed",
                metadata: ["bot": "\(delivery.bot.name)", "event": "\(event.id)", "attempt": "\(delivery.attempts)", "error": "\(failure)"])
            if case .permanent(let reason) = failure, delivery.attempts >= Self.maxRefusals {
                // Recorded, with the cursor moved past it in the same transaction: never silently dropped.
                let draft = EventDraft(
                    time: clock.now, type: .externalBotGaveUp, actor: Self.actor, session: id,
                    payload: ExternalBotGaveUpPayload(bot: delivery.bot.name, event: event.id, reason: reason, attempts: delivery.attempts)
                )
                if (try? await store.events.append(contentsOf: [draft]) { db in try ExternalBotCursors.write(db, session: id, delivered: event.id) }) != nil {
                    delivery.cursor = event.id
                    consumed = 1
                    delivery.attempts = 0
                    gaveUpCounter.increment()
                }
            } else {
                retriedCounter.increment()
                delivery.notBefore = now + retry.delay(attempt: delivery.attempts, unit: Double.random(in: 0..<1))
                let breakerOpen = opened == .open || breakers[delivery.bot.url]?.state == .open
                if !delivery.reportedDown, breakerOpen || delivery.attempts >= delivery.bot.breakerFailures {
                    delivery.reportedDown = true
                    let draft = EventDraft(
                        time: clock.now, type: .externalBotUnavailable, actor: Self.actor, session: id,
                        payload: ExternalBotUnavailablePayload(bot: delivery.bot.name, error: failure.description, waiting: believedPending)
                    )
                    _ = try? await store.events.append(draft)
                }
            }
        }
        // Events may have arrived (and the session ended) while this delivery was out.
        guard var current = deliveries[id] else { return }
        current.inFlight = false
        current.cursor = delivery.cursor
        current.attempts = delivery.attempts
        current.notBefore = delivery.notBefore
        current.reportedDown = delivery.reportedDown
        current.pending = max(0, current.pending - consumed)
        deliveries[id] = current.over && current.pending == 0 ? nil : current
        recordGauges()
    }
}

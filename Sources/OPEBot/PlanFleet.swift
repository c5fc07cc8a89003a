import Foundation
import OPECore

/// Many sessions' plan engines on one wall-clock timeline: each engine's next timer
/// (``PlanEngine/nextDeadline``, made absolute by the session's origin) sits in one
/// ``DeadlineQueue``, so a clock tick touches only the engines that are due and a bot that waits
/// costs nothing, however many there are. Pure like the engine: `BotService` feeds it events and
/// the time and carries out what it answers.
public struct PlanFleet: Sendable {
    struct Bot: Sendable {
        var engine: PlanEngine
        /// Second 0 of the engine's clock.
        let origin: Date

        /// Runs `body` on the engine in place and answers with its actions and next deadline.
        mutating func run(_ body: (inout PlanEngine, Date) -> [PlanEngine.Action]) -> (actions: [PlanEngine.Action], due: Date?) {
            let actions = body(&engine, origin)
            return (actions, due)
        }

        /// When the engine's next timer is due; nil once it waits for nothing.
        var due: Date? { engine.loggedOut ? nil : engine.nextDeadline.map { origin.addingTimeInterval($0) } }
    }

    var bots: [String: Bot] = [:]
    var deadlines = DeadlineQueue<String>()
    /// Engine calls made so far: inputs handled plus timers run. Grows with what the bots do,
    /// not with how many wait.
    public private(set) var engineCalls = 0

    public init() {}

    /// Sessions with an engine.
    public var count: Int { bots.count }

    public func contains(_ session: String) -> Bool { bots[session] != nil }

    /// The session's engine, as it is now.
    public func engine(of session: String) -> PlanEngine? { bots[session]?.engine }

    /// When the session's engine is next due, if it waits for a time.
    public func deadline(of session: String) -> Date? { deadlines.deadline(of: session) }

    /// The earliest time any engine is due.
    public mutating func nextDeadline() -> Date? { deadlines.earliest() }

    /// Adds (or replaces) a session's engine, whose second 0 is `origin`.
    public mutating func add(_ session: String, engine: PlanEngine, origin: Date) {
        let bot = Bot(engine: engine, origin: origin)
        bots[session] = bot
        deadlines.set(session, to: bot.due)
    }

    public mutating func remove(_ session: String) {
        bots[session] = nil
        deadlines.set(session, to: nil)
    }

    /// Feeds one input to the session's engine at `time` (after the timers due before it).
    public mutating func handle(_ input: PlanEngine.Input, for session: String, at time: Date) -> [PlanEngine.Action] {
        run(session) { engine, origin in engine.handle(input, at: time.timeIntervalSince(origin)) }
    }

    /// The sessions whose next timer is due at `now`, earliest first, each once; run each with
    /// ``advance(_:to:)``. Sessions that wait later are not looked at.
    public mutating func takeDue(at now: Date) -> [String] { deadlines.takeDue(at: now) }

    /// Runs the session's timers due up to `now`.
    public mutating func advance(_ session: String, to now: Date) -> [PlanEngine.Action] {
        run(session) { engine, origin in engine.advance(to: now.timeIntervalSince(origin)) }
    }

    /// Runs `body` on the session's engine where it lies (a copy would copy its timers and roles),
    /// then puts its next deadline in the queue.
    mutating func run(_ session: String, _ body: (inout PlanEngine, Date) -> [PlanEngine.Action]) -> [PlanEngine.Action] {
        guard let result = bots[session]?.run(body) else { return [] }
        engineCalls += 1
        deadlines.set(session, to: result.due)
        return result.actions
    }
}

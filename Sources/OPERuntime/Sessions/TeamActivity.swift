import Foundation
import OPECore

/// How a team is doing, for the instructors' dashboard: when it last did something, its latest
/// result per task, the task it is on, and whether it looks stuck.
public struct TeamActivity: Codable, Sendable, Hashable {
    /// A team counts as stuck after this long without chat, editing or test runs...
    public static let stuckAfter: TimeInterval = 10 * 60
    /// ...or after this many failed test runs in a row.
    public static let stuckFailures = 3

    public var lastActivity: Date?
    /// When a member last edited a document in the workspace (to the minute: edits are recorded
    /// coalesced), and who.
    public var lastEdit: Date?
    public var lastEditBy: String?
    /// Task id → whether its latest run passed.
    public var tests: [String: Bool]
    /// Why the team looks stuck, in words; nil when it does not.
    public var stuck: String?
    /// The task the bot last moved the team to or the team last tested, whichever came later;
    /// the module's first task before either.
    public var currentTask: TaskRef?
    /// Each member's time in roles, edits, runs, chat and test runs so far (``LiveContributions``).
    public var contributions: Contributions?

    public struct TaskRef: Codable, Sendable, Hashable {
        public var id: String
        public var title: String

        public init(id: String, title: String) {
            self.id = id
            self.title = title
        }
    }

    /// The rule, from the session's recent events (newest first): `chatAndTests` (chat messages and
    /// test results), `lastEdit` (the latest `workspace.edited`), `taskEvents` (bot commands and
    /// test results), judged at `now`.
    public init(
        session: SessionStateMachine, module: Module?, chatAndTests recent: [Event], lastEdit edit: Event?, taskEvents: [Event], now: Date
    ) {
        var tests: [String: Bool] = [:]
        var failuresInARow = 0
        var countingFailures = true
        for event in recent {
            guard let run = event.decode(TestResultPayload.self) else { continue }
            if tests[run.task] == nil { tests[run.task] = run.passed }
            if countingFailures { if run.passed { countingFailures = false } else { failuresInARow += 1 } }
        }
        let latest = [recent.first?.time, edit?.time].compactMap { $0 }.max()
        let last = latest ?? session.activeSince ?? session.createdAt
        if failuresInARow >= Self.stuckFailures {
            stuck = "\(failuresInARow) failed test runs in a row"
        } else if session.phase == .active, now.timeIntervalSince(last) > Self.stuckAfter {
            stuck = "no chat, editing or test runs for \(Int(now.timeIntervalSince(last) / 60)) minutes"
        }
        lastActivity = latest
        lastEdit = edit?.time
        lastEditBy = edit?.actor
        self.tests = tests
        currentTask = module.flatMap { Self.currentTask(in: $0, events: taskEvents) }
    }

    /// The latest task named by a `task …` bot command or a test run that the module has.
    static func currentTask(in module: Module, events: [Event]) -> TaskRef? {
        let named = events.lazy.compactMap { event in event.decode(TestResultPayload.self)?.task ?? event.decode(BotCommandPayload.self)?.task }
            .first { id in module.tasks.contains { $0.id == id } }
        guard let task = module.tasks.first(where: { $0.id == named }) ?? module.tasks.first else { return nil }
        return TaskRef(id: task.id, title: task.title)
    }
}

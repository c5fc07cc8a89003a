import Foundation

/// What a team does in a simulated session, for `ope plan simulate --activity FILE`: timed member
/// actions (chat, edits, runs, role changes, test results, arrivals and departures) that the plan
/// engine is fed as the platform would feed it from the event log. The file format is in
/// `docs/bot-plans.md`; `OPEModules.ActivityScriptParser` reads it.
public struct ActivityScript: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        /// Seconds after the plan's launch.
        public var time: Double
        public var action: Action
        public var location: PlanLocation

        public init(time: Double, action: Action, location: PlanLocation) {
            self.time = time
            self.action = action
            self.location = location
        }
    }

    public enum Action: Sendable, Hashable {
        case join(String)
        case leave(String)
        case chat(String, text: String)
        /// `updates` edits of the member reached the shared documents (`workspace.edited`).
        case edit(String, updates: Int)
        /// The member ran code (`workspace.executed`).
        case execute(String, outcome: String, errorName: String?, errorValue: String?, cell: String?)
        /// Someone other than the bot (an instructor, the module's rotation) changed roles:
        /// member → plan role name.
        case roles([String: String])
        /// A task's tests ran.
        case tests(task: String, passed: Bool)

        /// The members the action names.
        public var members: [String] {
            switch self {
            case .join(let member), .leave(let member), .chat(let member, _), .edit(let member, _), .execute(let member, _, _, _, _): [member]
            case .roles(let map): map.keys.sorted()
            case .tests: []
            }
        }
    }

    /// In file order.
    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }
}

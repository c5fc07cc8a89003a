import Foundation
import OPECore

/// Runs a plan on a virtual clock with simulated members, for `ope plan simulate` and tests:
/// everyone joins at second 0, tests pass at the given seconds, `run` steps finish at once.
/// The plan launches at second 0, so the timeline counts from the launch; in the platform a
/// plan launches up to ``PlanEngine/launchWindow`` after its team is complete (the session's
/// ``PlanEngine/launchOffset(session:)``), and everything after keeps these gaps.
public struct PlanSimulator: Sendable {
    public struct Options: Sendable {
        public var members: Int
        /// Gate target (task id or Bazaar file name) → second its tests pass.
        public var testsPass: [String: Double]
        /// Stop at this second (default: when the plan is over, at most 24 hours).
        public var until: Double?
        public var seed: UInt64
        /// Include step starts in the timeline.
        public var showSteps: Bool
        /// What the members do, beside joining at second 0 (`--activity`).
        public var activity: ActivityScript

        public init(
            members: Int = 3, testsPass: [String: Double] = [:], until: Double? = nil, seed: UInt64 = 1, showSteps: Bool = false,
            activity: ActivityScript = ActivityScript(entries: [])
        ) {
            self.members = members
            self.testsPass = testsPass
            self.until = until
            self.seed = seed
            self.showSteps = showSteps
            self.activity = activity
        }

        /// The simulated members' names: Ann, Ben, Cat…
        public var memberNames: [String] {
            (0..<members).map { PlanSimulator.names[$0 % PlanSimulator.names.count] + ($0 >= PlanSimulator.names.count ? "\($0)" : "") }
        }
    }

    public static let names = ["Ann", "Ben", "Cat", "Dan", "Eve", "Fay", "Gus", "Hal"]

    public init() {}

    public func run(_ plan: BotPlan, options: Options) -> [PlanEngine.Action] {
        var engine = PlanEngine(plan: plan, teamSize: options.members, seed: options.seed)
        let limit = options.until ?? 86_400
        var inputs: [(time: Double, input: PlanEngine.Input)] = options.memberNames.map { (0, .joined($0)) }
        inputs += options.testsPass.sorted { $0.value < $1.value }.map { ($0.value, .testResult(task: $0.key, passed: true)) }
        inputs += options.activity.entries.map { ($0.time, Self.input($0.action)) }
        // By time; at the same second, in the order given (joins first, then tests, then the script).
        inputs = inputs.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
        var actions: [PlanEngine.Action] = []
        func record(_ new: [PlanEngine.Action]) -> Bool {
            actions += new.filter { $0.time <= limit }
            return new.contains { if case .run = $0.kind { true } else { false } }
        }
        while !engine.loggedOut {
            let nextInput = inputs.first?.time
            let nextTimer = engine.nextDeadline
            guard let time = [nextInput, nextTimer].compactMap({ $0 }).min(), time <= limit else { break }
            var ranCommand: Bool
            if let nextInput, nextInput <= (nextTimer ?? .infinity) {
                ranCommand = record(engine.handle(inputs.removeFirst().input, at: nextInput))
            } else {
                ranCommand = record(engine.advance(to: time))
            }
            while ranCommand { ranCommand = record(engine.handle(.runFinished, at: engine.now)) }
        }
        return options.showSteps ? actions : actions.filter { if case .step = $0.kind { false } else { true } }
    }

    /// The engine input a scripted action stands for.
    static func input(_ action: ActivityScript.Action) -> PlanEngine.Input {
        switch action {
        case .join(let member): .joined(member)
        case .leave(let member): .left(member)
        case .chat(let member, let text): .chat(user: member, text: text)
        case .edit(let member, let updates): .edited(user: member, updates: updates)
        case .execute(let member, let outcome, let errorName, let errorValue, let cell):
            .executed(PlanEngine.Execution(user: member, outcome: outcome, errorName: errorName, errorValue: errorValue, cell: cell))
        case .roles(let map): .rolesChanged(map)
        case .tests(let task, let passed): .testResult(task: task, passed: passed)
        }
    }

    /// One timeline line: the second, the action, then its text or role change.
    public static func line(_ action: PlanEngine.Action) -> String {
        let time = String(format: "%9.2f", action.time)
        return "\(time)  \(describe(action.kind))"
    }

    public static func describe(_ kind: PlanEngine.Kind) -> String {
        func oneLine(_ text: String) -> String { text.replacingOccurrences(of: "\n", with: " ⏎ ") }
        switch kind {
        case .launched: return "launch"
        case .stage(let name): return "stage   \(name)"
        case .step(let stage, let step): return "step    \(stage)/\(step)"
        case .say(let text, let prompt): return "say     [\(prompt)] \(oneLine(text))"
        case .roles(let map, let reason): return "roles   (\(reason)) " + map.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        case .command(let command): return "command \(command)"
        case .run(let command, let timeout): return "run     \(command) (limit \(Int(timeout))s)"
        case .external(let message): return "external \(message)"
        case .log(let tag, let details): return "log     \(tag) \(details)"
        case .postChatLog: return "chatlog"
        case .end: return "end"
        case .logout: return "logout"
        case .finished: return "finished"
        case .warning(let message): return "warning \(message)"
        case .triggered(let name, let detail): return "trigger \(name): \(detail)"
        }
    }
}

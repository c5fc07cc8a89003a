import Foundation

/// A guiding bot's script: stages of steps on a timeline, the prompt texts it says, and triggers
/// that react to the team between steps.
///
/// Read from a native YAML plan (`docs/bot-plans.md`) or imported from a Bazaar plan folder by
/// `OPEModules.PlanLoader`; run by `OPEBot.PlanEngine`. Times are seconds (Bazaar's unit).
public struct BotPlan: Sendable, Hashable, Codable {
    public enum Format: String, Sendable, Hashable, Codable {
        case native, bazaar
    }

    public var name: String
    public var format: Format
    /// Where the plan was read from (file or folder), for messages.
    public var source: String
    public var settings: Settings
    public var stages: [Stage]
    /// Prompt id → text variants; one is picked at random each time it is said.
    public var prompts: [String: [String]]
    public var triggers: [Trigger]

    public init(
        name: String, format: Format, source: String, settings: Settings = Settings(), stages: [Stage], prompts: [String: [String]] = [:],
        triggers: [Trigger] = []
    ) {
        self.name = name
        self.format = format
        self.source = source
        self.settings = settings
        self.stages = stages
        self.prompts = prompts
        self.triggers = triggers
    }

    /// Every step with the stage it belongs to, in plan order.
    public var allSteps: [(stage: Stage, step: Step)] { stages.flatMap { stage in stage.steps.map { (stage, $0) } } }

    /// Names of the tasks (or Bazaar gate files) the plan waits for.
    public var gateTargets: [String] {
        var targets: [String] = []
        for (_, step) in allSteps { if case .gate(let gate) = step.action { targets += gate.targets } }
        for trigger in triggers { if case .testFailures(let task, _) = trigger.event { targets.append(task) } }
        return targets
    }

    /// Renames gate targets (Bazaar file names → module task ids).
    public func bindingTargets(_ map: [String: String]) -> BotPlan {
        var plan = self
        for stageIndex in plan.stages.indices {
            for stepIndex in plan.stages[stageIndex].steps.indices {
                guard case .gate(var gate) = plan.stages[stageIndex].steps[stepIndex].action else { continue }
                gate.targets = gate.targets.map { map[$0] ?? $0 }
                plan.stages[stageIndex].steps[stepIndex].action = .gate(gate)
            }
        }
        for index in plan.triggers.indices {
            if case .testFailures(let task, let count) = plan.triggers[index].event {
                plan.triggers[index].event = .testFailures(task: map[task] ?? task, count: count)
            }
        }
        return plan
    }

    /// How the bot speaks, assigns roles and starts.
    public struct Settings: Sendable, Hashable, Codable {
        /// The name the bot speaks as (`[AGENT NAME]`).
        public var botName: String
        /// Role names as the bot says them, in assignment order (Driver, Navigator, Researcher).
        public var roles: [String]
        /// The role given to everyone beyond the named roles.
        public var defaultRole: String
        /// Fewer present members than this get no roles from a match.
        public var minMembersToMatch: Int
        /// With more members than roles, everyone beyond the named roles gets the default role.
        public var multipleToDefault: Bool
        /// Reading speed: after saying something the bot waits `readingPause + words / (wpm / 60)`
        /// seconds before the step counts as done. 0 turns reading time off.
        public var wordsPerMinute: Double
        public var readingPause: Double
        /// The plan starts when this many members are present (nil: the whole team)…
        public var launchMembers: Int?
        /// …or this long after the first member arrived, whichever comes first.
        public var launchTimeout: Double
        /// Whether a gate that opens after its task already passed is satisfied at once. Bazaar
        /// forgets file events that arrive while their gate is closed; native plans remember.
        public var gatesRememberPasses: Bool
        /// Base URL for `external` steps (Bazaar's `send_external_message`); nil records them only.
        public var externalURL: String?

        public init(
            botName: String = "OPE_Bot", roles: [String] = ["Driver", "Navigator", "Researcher"], defaultRole: String = "Researcher",
            minMembersToMatch: Int = 1, multipleToDefault: Bool = true, wordsPerMinute: Double = 400, readingPause: Double = 0.1,
            launchMembers: Int? = nil, launchTimeout: Double = 120, gatesRememberPasses: Bool = true, externalURL: String? = nil
        ) {
            self.botName = botName
            self.roles = roles
            self.defaultRole = defaultRole
            self.minMembersToMatch = minMembersToMatch
            self.multipleToDefault = multipleToDefault
            self.wordsPerMinute = wordsPerMinute
            self.readingPause = readingPause
            self.launchMembers = launchMembers
            self.launchTimeout = launchTimeout
            self.gatesRememberPasses = gatesRememberPasses
            self.externalURL = externalURL
        }
    }

    /// A group of steps. `delay` is the pause after it; a `timeout` > 0 starts it at that many
    /// seconds after launch whatever is running (the first stage starts at its `timeout`, or at
    /// its `delay` when it has none).
    public struct Stage: Sendable, Hashable, Codable {
        public var name: String
        public var delay: Double
        public var timeout: Double
        public var steps: [Step]
        /// The team sizes the stage runs for; for others it is skipped, without its delay.
        public var when: TeamSizes?
        public var location: PlanLocation

        public init(name: String, delay: Double = 0, timeout: Double = 0, steps: [Step], when: TeamSizes? = nil, location: PlanLocation) {
            self.name = name
            self.delay = delay
            self.timeout = timeout
            self.steps = steps
            self.when = when
            self.location = location
        }
    }

    /// One thing the bot does. `delay` is the pause after it finishes on its own; a `timeout` > 0
    /// moves on to the next step at once if it has not finished by then.
    public struct Step: Sendable, Hashable, Codable {
        public var name: String
        public var delay: Double
        public var timeout: Double
        public var action: Action
        /// The team sizes the step runs for; for others it is skipped, without its delay.
        public var when: TeamSizes?
        public var location: PlanLocation

        public init(name: String, delay: Double = 0, timeout: Double = 0, action: Action, when: TeamSizes? = nil, location: PlanLocation) {
            self.name = name
            self.delay = delay
            self.timeout = timeout
            self.action = action
            self.when = when
            self.location = location
        }
    }

    public enum Action: Sendable, Hashable, Codable {
        /// Say a prompt; `role` names a role whose holder becomes `[NAME1]` (Bazaar `role="X_Y"`).
        case prompt(id: String, role: String?)
        /// Introduce the bot, then answer each member's first message with `reply` (`[NAME]`),
        /// until everyone present has spoken or `listen` seconds have passed.
        case greet(introduce: String, reply: String, listen: Double)
        /// Give every present member a role; the text gets `[NAMEi]`/`[ROLEi]`/`[ROLES]`.
        case assignRoles(prompt: String)
        /// Rotate roles so everyone gets a role they have not held yet.
        case rotateRoles(prompt: String)
        /// Wait until a task's tests pass, with timed hints.
        case gate(Gate)
        /// Tell the team's page to do something (Bazaar `send_command`, e.g. switch task).
        case command(String)
        /// Run a shell command in the group's workspace folder.
        case run(command: String, timeout: Double)
        /// Send a message to an outside system (Bazaar `send_external_message`).
        case external(message: String)
        /// Record a research log entry (Bazaar `sendlog` and `logstate`).
        case log(tag: String, details: String)
        /// Save the team's chat transcript into their workspace.
        case postChatLog
        /// End the session.
        case end
        /// The bot leaves.
        case logout
    }

    /// A `file_gated` step: done when one of `targets` passes its tests.
    public struct Gate: Sendable, Hashable, Codable {
        /// Task ids (or, before binding, Bazaar gate file names).
        public var targets: [String]
        public var checkin: String?
        /// Prompts said at so many seconds after the step starts, if it is still waiting.
        public var hints: [Hint]
        /// Said at `max(timeout − 180, 0.75 × timeout)` if the step has a timeout.
        public var warning: String?
        public var passed: String?
        /// Said when the step times out.
        public var timedOut: String?

        public init(targets: [String], checkin: String? = nil, hints: [Hint] = [], warning: String? = nil, passed: String? = nil, timedOut: String? = nil) {
            self.targets = targets
            self.checkin = checkin
            self.hints = hints
            self.warning = warning
            self.passed = passed
            self.timedOut = timedOut
        }
    }

    public struct Hint: Sendable, Hashable, Codable {
        public var after: Double
        public var prompt: String

        public init(after: Double, prompt: String) {
            self.after = after
            self.prompt = prompt
        }
    }

    /// Reacts to the team outside the timeline, while the plan runs.
    public struct Trigger: Sendable, Hashable, Codable {
        public enum Event: Sendable, Hashable, Codable {
            case join, leave, lateJoin
            case keyword([String])
            /// No chat and no edits for this many seconds.
            case idle(Double)
            /// This many failed test runs of a task in a row.
            case testFailures(task: String, count: Int)
            /// A present member has not written in the chat for this many seconds (counted from
            /// the launch, their arrival or their last message, whichever is latest).
            case silent(Double)
            /// One member made more than `above` percent of the team's workspace edit updates in
            /// the last `window` seconds, once there were at least `minUpdates` of them.
            case editShare(above: Double, window: Double, minUpdates: Int)
            /// The driver (the member holding the plan's driver role) has run no code for this
            /// many seconds since they became driver.
            case driverIdle(Double)
            /// The same error `count` times (within `within` seconds, if set), with no clean run of
            /// its cell in between.
            case repeatedError(count: Int, within: Double?, same: ErrorMatch)

            /// The trigger's kind as a plan writes it (`on: silent`).
            public var name: String {
                switch self {
                case .join: "join"
                case .leave: "leave"
                case .lateJoin: "lateJoin"
                case .keyword: "keyword"
                case .idle: "idle"
                case .testFailures: "testFailures"
                case .silent: "silent"
                case .editShare: "editShare"
                case .driverIdle: "driverIdle"
                case .repeatedError: "repeatedError"
                }
            }
        }

        /// What makes two errors "the same" for a `repeatedError` trigger.
        public enum ErrorMatch: String, Sendable, Hashable, Codable, CaseIterable {
            /// The same exception name and message (`NameError: name 'x' is not defined`).
            case message
            /// The same exception name in the same cell, whatever the message.
            case cell
        }

        public var event: Event
        public var prompt: String
        /// Seconds before the same trigger may speak again.
        public var cooldown: Double
        /// The team sizes the trigger speaks for.
        public var when: TeamSizes?
        public var location: PlanLocation

        public init(event: Event, prompt: String, cooldown: Double = 0, when: TeamSizes? = nil, location: PlanLocation) {
            self.event = event
            self.prompt = prompt
            self.cooldown = cooldown
            self.when = when
            self.location = location
        }
    }
}

/// A range of team sizes (`when: {team: "2+"}` in a plan), so a plan can say different things
/// to a student working alone and to a team: "roles rotate" means nothing to one person.
public struct TeamSizes: Sendable, Hashable, Codable, CustomStringConvertible {
    public var min: Int
    /// nil: no upper bound.
    public var max: Int?

    public init(min: Int, max: Int?) {
        self.min = min
        self.max = max
    }

    public func contains(_ size: Int) -> Bool { size >= min && (max.map { size <= $0 } ?? true) }

    /// `1`, `2+` or `2-3`; nil if the text is none of these.
    public init?(_ text: String) {
        let text = text.trimmingCharacters(in: .whitespaces)
        if text.hasSuffix("+"), let low = Int(text.dropLast()), low >= 1 {
            self.init(min: low, max: nil)
        } else if let low = Int(text), low >= 1 {
            self.init(min: low, max: low)
        } else {
            let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let low = parts[0], let high = parts[1], low >= 1, high >= low else { return nil }
            self.init(min: low, max: high)
        }
    }

    public var description: String {
        switch max {
        case nil: "\(min)+"
        case min?: "\(min)"
        case let high?: "\(min)-\(high)"
        }
    }
}

/// Where something was written: file and line, for error messages.
public struct PlanLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int?

    public init(file: String, line: Int?) {
        self.file = file
        self.line = line
    }

    public var description: String { line.map { "\(file):\($0)" } ?? file }
}

import Foundation
import OPECore

/// Runs one team's bot plan: a pure state machine fed with the team's events and the clock, that
/// answers with what the bot does (say, assign roles, run, end…). It never sleeps or performs I/O;
/// `BotService` in the gateway and `ope plan simulate` carry the actions out.
///
/// Timing follows Bazaar's plan executor (see `docs/bot-plans.md`): stages run in order, each
/// stage's `delay` is the gap after it, a stage with a `timeout` starts at that second after launch
/// and pre-empts whatever runs; a step's `delay` follows its own completion (prompts complete after
/// a reading time), and a step `timeout` moves on at once. Times are seconds on the caller's clock.
public struct PlanEngine: Sendable {
    /// What the team did.
    public enum Input: Sendable, Hashable {
        case joined(String)
        case left(String)
        case chat(user: String, text: String)
        /// Someone edited in the workspace.
        case edit
        case testResult(task: String, passed: Bool)
        /// Roles were changed by someone else (an instructor, the module's rotation timer); role
        /// names as the plan says them.
        case rolesChanged([String: String])
        /// A `run` step's command finished.
        case runFinished
        /// A member's edits reached the shared documents (`workspace.edited`): `updates` of them.
        case edited(user: String, updates: Int)
        /// A member ran code in the workspace's kernel (`workspace.executed`).
        case executed(Execution)
    }

    /// One run of code in the workspace, as the attributed record has it.
    public struct Execution: Sendable, Hashable {
        public var user: String
        /// `ok`, `error`, `aborted` or `refused` (see `ExecutedPayload`).
        public var outcome: String
        public var errorName: String?
        public var errorValue: String?
        /// The cell's id, when the front end said which.
        public var cell: String?

        public init(user: String, outcome: String, errorName: String? = nil, errorValue: String? = nil, cell: String? = nil) {
            self.user = user
            self.outcome = outcome
            self.errorName = errorName
            self.errorValue = errorValue
            self.cell = cell
        }
    }

    public struct Action: Sendable, Hashable {
        public var time: Double
        public var kind: Kind
    }

    public enum Kind: Sendable, Hashable {
        /// The plan started (time 0 of its timeline).
        case launched
        case stage(String)
        case step(stage: String, step: String)
        /// One chat message; `prompt` is the prompt id it came from.
        case say(String, prompt: String)
        /// New roles (plan role names) of the members named; `reason` is `match` or `rotate`.
        case roles([String: String], reason: String)
        case command(String)
        case run(String, timeout: Double)
        case external(String)
        case log(tag: String, details: String)
        case postChatLog
        case end
        case logout
        /// The last stage is done.
        case finished
        /// Something in the plan could not be done as written (e.g. a prompt id is missing).
        case warning(String)
        /// A trigger fired (its `on:` kind and what it saw); what it says follows as `say`.
        case triggered(String, detail: String)
    }

    enum TimerKind: Sendable, Hashable {
        case launch
        case stage(Int)
        case stepTimeout(String)
        case next(serial: Int)
        case stageGap(next: Int, serial: Int)
        case reading(serial: Int)
        case hint(serial: Int, index: Int)
        case warning(serial: Int)
        case greetListen(serial: Int)
        case idle(trigger: Int)
        /// Time to look at a `silent` or `driverIdle` trigger again.
        case quiet(trigger: Int)
    }

    struct Timer: Sendable, Hashable {
        var at: Double
        var order: Int
        var kind: TimerKind
    }

    public let plan: BotPlan
    let teamSize: Int
    /// Seconds between the team being complete and the launch (see ``launchOffset(session:)``).
    public let launchDelay: Double
    var generator: SeededGenerator
    public private(set) var now: Double = 0
    var timers: [Timer] = []
    var timerOrder = 0
    var output: [Action] = []

    // Presence and roles.
    /// Members present, in the order they (first) arrived.
    public private(set) var present: [String] = []
    var seen: Set<String> = []
    /// Current role of each member (plan role names) and every role they have held.
    public private(set) var roles: [String: String] = [:]
    var history: [String: Set<String>] = [:]
    var slots: [String: String] = [:]

    // Progress.
    public private(set) var launchedAt: Double?
    public private(set) var stageIndex: Int?
    var stepIndex = -1
    var serial = 0
    var stepFinished = false
    public private(set) var loggedOut = false
    var launchTimerSet = false
    /// The team is complete and the launch waits out ``launchDelay``.
    var launchPending = false
    /// Members greeted by the current greet step.
    var greeted: Set<String> = []

    // Triggers and gates.
    var passedTasks: Set<String> = []
    var failures: [String: Int] = [:]
    var lastActivity: Double = 0
    var idleSpokenFor: [Int: Double] = [:]
    var idleTimerPending: Set<Int> = []
    var lastFired: [Int: Double] = [:]

    // Behaviour triggers (PlanEngine+Behaviour.swift).
    /// The role whose holder is the driver (plan role name); nil: no `driverIdle` prompts.
    public let driverRole: String?
    /// When each present member last arrived, last wrote in the chat and last ran code.
    var arrivedAt: [String: Double] = [:]
    var lastChat: [String: Double] = [:]
    var lastRun: [String: Double] = [:]
    /// When each member took their current role.
    var roleSince: [String: Double] = [:]
    /// Per `silent`/`driverIdle` trigger: the member → start of the quiet spell already spoken about.
    var quietSpoken: [Int: [String: Double]] = [:]
    /// Per `silent`/`driverIdle` trigger: when its earliest pending `.quiet` timer fires.
    var quietCheckAt: [Int: Double] = [:]
    /// Attributed edit batches, oldest first, as long as the longest `editShare` window.
    var edits: [EditBatch] = []
    /// Per `editShare` trigger: the member already named for the current spell of dominance.
    var dominantSpoken: [Int: String] = [:]
    /// Per `repeatedError` trigger: error key → the runs that failed with it, oldest first.
    var errorRuns: [Int: [String: [ErrorRun]]] = [:]

    /// - Parameters:
    ///   - teamSize: members in the session; the plan launches when this many are present unless it says otherwise.
    ///   - seed: the same seed and inputs give the same prompt variants and role shuffles.
    ///   - launchDelay: seconds from the moment the team is complete to the launch (second 0 of the
    ///     plan's timeline); the platform passes ``launchOffset(session:)``. A launch on the plan's
    ///     own `launch.timeout` is not delayed.
    ///   - driverRole: the role (plan role name) whose holder `driverIdle` triggers watch; the
    ///     platform passes the module's first role. Default: the plan's first role.
    public init(plan: BotPlan, teamSize: Int, seed: UInt64, launchDelay: Double = 0, driverRole: String? = nil) {
        self.plan = plan
        self.teamSize = max(1, teamSize)
        self.generator = SeededGenerator(seed: seed)
        self.launchDelay = max(0, launchDelay)
        self.driverRole = driverRole ?? plan.settings.roles.first
    }

    /// The longest ``launchOffset(session:)``, in seconds.
    ///
    /// When a lobby tick forms thousands of teams at once their members arrive together, and
    /// without an offset every bot would commit and fan out its launch, greeting and step events in
    /// the same millisecond: 5,000 teams make about 25,000 events and 20,000 socket writes at once,
    /// a queue that every chat message behind it waits through. Spread over one second that is
    /// about 5 teams a millisecond, which the log's group commit and the rooms absorb beside the
    /// teams' own chat. One second stays below what a person notices: the room page is still
    /// loading, and a plan's own pauses (reading times, step delays) are seconds long.
    public static let launchWindow: Double = 1

    /// The session's launch offset: a millisecond in `[0, launchWindow)`, the same for the same
    /// session id in every process (so a restart replays the same launch), and spread evenly over
    /// the window across sessions. It draws from its own generator, so the plan's other random
    /// choices (variants, shuffles) are the ones they were without it.
    public static func launchOffset(session: String) -> Double {
        var generator = SeededGenerator(seed: StableHash.fnv1a("launch:" + session))
        let milliseconds = Int(launchWindow * 1000)
        return Double(generator.next() % UInt64(milliseconds)) / 1000
    }

    /// The step running now.
    public var currentStep: (stage: BotPlan.Stage, step: BotPlan.Step)? {
        guard let stageIndex, plan.stages[stageIndex].steps.indices.contains(stepIndex) else { return nil }
        return (plan.stages[stageIndex], plan.stages[stageIndex].steps[stepIndex])
    }

    /// When the next timer fires; call ``advance(to:)`` then.
    public var nextDeadline: Double? { timers.min { ($0.at, $0.order) < ($1.at, $1.order) }?.at }

    /// Fires every timer due up to `time`, in order.
    public mutating func advance(to time: Double) -> [Action] {
        runTimers(until: time)
        return takeOutput()
    }

    /// Applies one input at `time` (after the timers due before it).
    public mutating func handle(_ input: Input, at time: Double) -> [Action] {
        runTimers(until: time)
        guard !loggedOut else { return takeOutput() }
        switch input {
        case .joined(let user): join(user)
        case .left(let user): leave(user)
        case .chat(let user, let text): chat(user: user, text: text)
        case .edit: activity()
        case .testResult(let task, let passed): testResult(task: task, passed: passed)
        case .rolesChanged(let map):
            for (user, role) in map { assign(role, to: user) }
        case .runFinished:
            if let (_, step) = currentStep, case .run = step.action { finishStep(serial) }
        case .edited(let user, let updates): edited(user: user, updates: updates)
        case .executed(let run): executed(run)
        }
        checkQuietTriggers()
        return takeOutput()
    }

    // MARK: Timers

    mutating func schedule(_ kind: TimerKind, at time: Double) {
        timers.append(Timer(at: time, order: timerOrder, kind: kind))
        timerOrder += 1
    }

    mutating func runTimers(until time: Double) {
        while !loggedOut, let next = timers.min(by: { ($0.at, $0.order) < ($1.at, $1.order) }), next.at <= time {
            timers.removeAll { $0.order == next.order }
            now = max(now, next.at)
            fire(next.kind)
            // A step may have handed out roles: the driver to watch may have changed.
            checkQuietTriggers()
        }
        now = max(now, time)
    }

    mutating func fire(_ kind: TimerKind) {
        switch kind {
        case .launch:
            if launchedAt == nil { launch() }
        case .stage(let index):
            activate(stage: index)
        case .stepTimeout(let name):
            // Step timers are never cancelled: a stale one advances a later step of the same name.
            guard let (_, step) = currentStep, step.name == name else { return }
            if case .gate(let gate) = step.action, !stepFinished, let timedOut = gate.timedOut { say(prompt: timedOut) }
            serial += 1
            startNext()
        case .next(let token):
            if token == serial { startNext() }
        case .stageGap(let next, let token):
            if token == serial { activate(stage: next) }
        case .reading(let token), .greetListen(let token):
            finishStep(token)
        case .hint(let token, let index):
            guard token == serial, !stepFinished, let (_, step) = currentStep, case .gate(let gate) = step.action else { return }
            say(prompt: gate.hints[index].prompt)
        case .warning(let token):
            guard token == serial, !stepFinished, let (_, step) = currentStep, case .gate(let gate) = step.action, let warning = gate.warning else { return }
            say(prompt: warning)
        case .idle(let index):
            idleTimerPending.remove(index)
            guard case .idle(let seconds) = plan.triggers[index].event else { return }
            let due = lastActivity + seconds
            if due > now {
                schedule(.idle(trigger: index), at: due)
                idleTimerPending.insert(index)
            } else if idleSpokenFor[index] != lastActivity {
                idleSpokenFor[index] = lastActivity
                fireTrigger(index, slots: [:], detail: "no chat, edits or runs for \(Self.minutes(seconds))")
            }
        case .quiet(let index):
            if let pending = quietCheckAt[index], pending <= now { quietCheckAt[index] = nil }
            checkQuiet(index)
        }
    }

    mutating func takeOutput() -> [Action] {
        defer { output.removeAll() }
        return output
    }

    mutating func emit(_ kind: Kind) { output.append(Action(time: now, kind: kind)) }

    // MARK: Presence

    mutating func join(_ user: String) {
        guard !present.contains(user) else { return }
        let firstTime = seen.insert(user).inserted
        present.append(user)
        arrivedAt[user] = now
        activity()
        if launchedAt != nil {
            for (index, trigger) in plan.triggers.enumerated() {
                if trigger.event == .join || (trigger.event == .lateJoin && firstTime) { fireTrigger(index, slots: ["[NAME]": user], detail: user) }
            }
            return
        }
        if present.count >= min(plan.settings.launchMembers ?? teamSize, teamSize) {
            if launchDelay > 0 {
                // Launches spread: the plan starts when its offset has passed (see `launchWindow`).
                guard !launchPending else { return }
                launchPending = true
                schedule(.launch, at: now + launchDelay)
            } else {
                launch()
            }
        } else if present.count == 1, !launchTimerSet, plan.settings.launchTimeout > 0 {
            launchTimerSet = true
            schedule(.launch, at: now + plan.settings.launchTimeout)
        }
    }

    mutating func leave(_ user: String) {
        guard let index = present.firstIndex(of: user) else { return }
        present.remove(at: index)
        guard launchedAt != nil else { return }
        for (index, trigger) in plan.triggers.enumerated() where trigger.event == .leave { fireTrigger(index, slots: ["[NAME]": user], detail: user) }
    }

    mutating func launch() {
        launchedAt = now
        timers.removeAll { $0.kind == .launch }
        emit(.launched)
        for (index, stage) in plan.stages.enumerated() {
            if index == 0 {
                schedule(.stage(0), at: now + (stage.timeout > 0 ? stage.timeout : stage.delay))
            } else if stage.timeout > 0 {
                schedule(.stage(index), at: now + stage.timeout)
            }
        }
        // Quiet time counts from the launch.
        activity()
    }

    // MARK: Stages and steps

    /// Starts stage `index`, dropping whatever was running (its timers die with the old serial).
    mutating func activate(stage index: Int) {
        serial += 1
        stageIndex = index
        stepIndex = -1
        guard plan.stages[index].when?.contains(currentTeamSize) ?? true else {
            stageFinished(index, pause: false)
            return
        }
        emit(.stage(plan.stages[index].name))
        startNext()
    }

    /// The team's size for `when:` conditions: the session's members, and more once late
    /// joiners have arrived.
    var currentTeamSize: Int { max(teamSize, seen.count) }

    mutating func startNext() {
        guard let stageIndex else { return }
        stepIndex += 1
        if stepIndex < plan.stages[stageIndex].steps.count {
            startStep()
        } else {
            stageFinished(stageIndex)
        }
    }

    mutating func stageFinished(_ index: Int, pause: Bool = true) {
        let next = index + 1
        guard next < plan.stages.count else {
            stageIndex = nil
            emit(.finished)
            return
        }
        if plan.stages[next].timeout > 0 {
            // That stage starts on its own timer; until then the plan idles.
            return
        }
        let gap = pause ? plan.stages[index].delay : 0
        if gap > 0 {
            schedule(.stageGap(next: next, serial: serial), at: now + gap)
        } else {
            activate(stage: next)
        }
    }

    mutating func startStep() {
        guard let (stage, step) = currentStep else { return }
        guard step.when?.contains(currentTeamSize) ?? true else {
            // Not for a team of this size: skipped, and so is its pause.
            startNext()
            return
        }
        serial += 1
        stepFinished = false
        let token = serial
        emit(.step(stage: stage.name, step: step.name))
        if step.timeout > 0 { schedule(.stepTimeout(step.name), at: now + step.timeout) }
        switch step.action {
        case .prompt(let id, let role):
            if let text = sayPrompt(id: id, role: role) { read(text, serial: token) } else { finishStep(token) }
        case .greet(let introduce, _, let listen):
            greeted = []
            say(prompt: introduce)
            schedule(.greetListen(serial: token), at: now + listen)
        case .assignRoles(let prompt):
            if let text = match(prompt: prompt) { read(text, serial: token) } else { finishStep(token) }
        case .rotateRoles(let prompt):
            if let text = rotate(prompt: prompt) { read(text, serial: token) } else { finishStep(token) }
        case .gate(let gate):
            if let checkin = gate.checkin { say(prompt: checkin) }
            for (index, hint) in gate.hints.enumerated() { schedule(.hint(serial: token, index: index), at: now + hint.after) }
            if gate.warning != nil, step.timeout > 0 {
                schedule(.warning(serial: token), at: now + max(step.timeout - 180, 0.75 * step.timeout))
            }
            if plan.settings.gatesRememberPasses, !passedTasks.isDisjoint(with: gate.targets) { gatePassed() }
        case .command(let command):
            emit(.command(command))
            finishStep(token)
        case .run(let command, let timeout):
            emit(.run(command, timeout: timeout))
        case .external(let message):
            emit(.external(message))
            finishStep(token)
        case .log(let tag, let details):
            emit(.log(tag: tag, details: details))
            finishStep(token)
        case .postChatLog:
            emit(.postChatLog)
            finishStep(token)
        case .end:
            emit(.end)
            finishStep(token)
        case .logout:
            emit(.logout)
            loggedOut = true
            timers.removeAll()
        }
    }

    /// The step is done by itself: the next one starts after the step's delay.
    mutating func finishStep(_ token: Int) {
        guard token == serial, !stepFinished, let (_, step) = currentStep else { return }
        stepFinished = true
        if step.delay > 0 {
            schedule(.next(serial: token), at: now + step.delay)
        } else {
            startNext()
        }
    }

    /// Waits the reading time of `text` before the step counts as done.
    mutating func read(_ text: String, serial token: Int) {
        let seconds = readingTime(text)
        if seconds > 0 {
            schedule(.reading(serial: token), at: now + seconds)
        } else {
            finishStep(token)
        }
    }

    /// `pause + words / (wpm / 60)`, counting words as Bazaar does: the whole text split on single
    /// spaces (so line breaks do not separate words, and double spaces count empty words).
    public func readingTime(_ text: String) -> Double {
        let wpm = plan.settings.wordsPerMinute
        guard wpm > 0 else { return 0 }
        var parts = text.split(separator: " ", omittingEmptySubsequences: false)
        while parts.count > 1, parts.last?.isEmpty == true { parts.removeLast() }
        return plan.settings.readingPause + Double(parts.count) / (wpm / 60)
    }

    // MARK: Gates, tests, chat

    mutating func testResult(task: String, passed: Bool) {
        activity()
        if passed {
            passedTasks.insert(task)
            failures[task] = 0
            if let (_, step) = currentStep, case .gate(let gate) = step.action, !stepFinished, gate.targets.contains(task) { gatePassed() }
            return
        }
        failures[task, default: 0] += 1
        guard launchedAt != nil else { return }
        for (index, trigger) in plan.triggers.enumerated() {
            guard case .testFailures(let target, let count) = trigger.event, target == task, failures[task, default: 0] >= count else { continue }
            failures[task] = 0
            fireTrigger(index, slots: ["[TASK]": task], detail: "\(task), \(count) failing runs")
        }
    }

    mutating func gatePassed() {
        guard let (_, step) = currentStep, case .gate(let gate) = step.action else { return }
        if let passed = gate.passed { say(prompt: passed) }
        finishStep(serial)
    }

    mutating func chat(user: String, text: String) {
        activity()
        lastChat[user] = now
        if let (_, step) = currentStep, case .greet(_, let reply, _) = step.action, !stepFinished, present.contains(user), !greeted.contains(user) {
            greeted.insert(user)
            say(prompt: reply, extra: ["[NAME]": user])
            if present.allSatisfy(greeted.contains) { finishStep(serial) }
        }
        guard launchedAt != nil else { return }
        let words = Set(text.lowercased().split { !$0.isLetter && !$0.isNumber && $0 != "'" && $0 != "-" }.map(String.init))
        for (index, trigger) in plan.triggers.enumerated() {
            guard case .keyword(let keywords) = trigger.event else { continue }
            if let hit = keywords.first(where: { keyword in
                let lowered = keyword.lowercased()
                return lowered.contains(" ") ? text.lowercased().contains(lowered) : words.contains(lowered)
            }) {
                fireTrigger(index, slots: ["[NAME]": user, "[KEYWORD]": hit], detail: "\(user): \(hit)")
            }
        }
    }

    mutating func activity() {
        lastActivity = now
        guard launchedAt != nil else { return }
        for (index, trigger) in plan.triggers.enumerated() where !idleTimerPending.contains(index) {
            if case .idle(let seconds) = trigger.event {
                schedule(.idle(trigger: index), at: now + seconds)
                idleTimerPending.insert(index)
            }
        }
    }

    /// Says the trigger's prompt unless its team sizes or its cooldown say no; answers whether it spoke.
    @discardableResult
    mutating func fireTrigger(_ index: Int, slots extra: [String: String], detail: String) -> Bool {
        guard !loggedOut, mayFire(index) else { return false }
        let trigger = plan.triggers[index]
        lastFired[index] = now
        emit(.triggered(trigger.event.name, detail: detail))
        say(prompt: trigger.prompt, extra: extra)
        return true
    }

    /// Whether the trigger may speak now: the team's size is one it is for and its cooldown is over.
    func mayFire(_ index: Int) -> Bool {
        let trigger = plan.triggers[index]
        guard trigger.when?.contains(currentTeamSize) ?? true else { return false }
        if let last = lastFired[index], trigger.cooldown > 0, now - last < trigger.cooldown { return false }
        return true
    }

    // MARK: Saying things

    /// Refreshes the slots every prompt can use.
    mutating func updateSlots() {
        slots["[AGENT NAME]"] = plan.settings.botName
        slots["[NAMES]"] = present.joined(separator: ", ")
        for (index, user) in present.enumerated() { slots["[NAME\(index + 1)]"] = user }
        slots["[RANDOM_STUDENT]"] = present.isEmpty ? "student" : present[Int(generator.next() % UInt64(present.count))]
    }

    /// Picks a variant of the first prompt among `keys` that exists and fills the slots.
    mutating func text(keys: [String], extra: [String: String] = [:]) -> (key: String, text: String)? {
        guard let key = keys.first(where: { plan.prompts[$0]?.isEmpty == false }), let variants = plan.prompts[key] else {
            emit(.warning("prompt '\(keys.last ?? "")' is not in the plan; nothing said"))
            return nil
        }
        let variant = variants.count == 1 ? variants[0] : variants[Int(generator.next() % UInt64(variants.count))]
        var text = variant
        for (slot, value) in slots.merging(extra, uniquingKeysWith: { $1 }) where text.contains(slot) {
            text = text.replacingOccurrences(of: slot, with: value)
        }
        return (key, text)
    }

    /// Says `text`, one chat message per `|||`-separated part.
    mutating func send(_ text: String, prompt: String) {
        for part in text.components(separatedBy: "|||") {
            let trimmed = part.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty { emit(.say(trimmed, prompt: prompt)) }
        }
    }

    /// Says a prompt outside the reading-time rules (gate messages, triggers).
    mutating func say(prompt id: String, extra: [String: String] = [:]) {
        updateSlots()
        if let (key, text) = text(keys: [id], extra: extra) { send(text, prompt: key) }
    }

    /// A `prompt` step: `<id>_1` when one member is present, `<id>_STUDENT` when a member holds `role`.
    mutating func sayPrompt(id: String, role: String?) -> String? {
        updateSlots()
        var keys = [id]
        if let role {
            let name = role.replacingOccurrences(of: "_", with: " ")
            slots["[ROLE]"] = name
            if let holder = present.first(where: { roles[$0]?.lowercased() == name.lowercased() }) {
                slots["[NAME1]"] = holder
                keys.insert(id + "_STUDENT", at: 0)
            }
        }
        if present.count == 1 { keys.insert(id + "_1", at: 0) }
        guard let (key, text) = text(keys: keys) else { return nil }
        send(text, prompt: key)
        return text
    }

    mutating func assign(_ role: String, to user: String) {
        if roles[user] != role { roleSince[user] = now }
        roles[user] = role
        history[user, default: []].insert(role)
    }

    var roleNames: [String] { plan.settings.roles.map { $0.replacingOccurrences(of: "_", with: " ") } }
    var defaultRole: String { plan.settings.defaultRole.replacingOccurrences(of: "_", with: " ") }

    /// The prompt suffix for `count` present members: `_n`, or `_MAX_ALL`/`_MAX_NONE` beyond the roles.
    func suffix(count: Int) -> String {
        guard count > roleNames.count else { return "_\(count)" }
        return plan.settings.multipleToDefault ? "_MAX_ALL" : "_MAX_NONE"
    }

    /// Says the role announcement and records the new roles.
    mutating func announce(_ assignments: [(user: String, role: String)], prompt: String, reason: String, count: Int) -> String? {
        updateSlots()
        var extra: [String: String] = ["[DEFAULTROLE]": defaultRole]
        for (index, assignment) in assignments.enumerated() {
            extra["[NAME\(index + 1)]"] = assignment.user
            extra["[ROLE\(index + 1)]"] = assignment.role
        }
        extra["[ROLES]"] = assignments.map { "\($0.role): \($0.user)" }.joined(separator: ", ")
        for (slot, value) in extra { slots[slot] = value }
        if !assignments.isEmpty {
            for assignment in assignments { assign(assignment.role, to: assignment.user) }
            emit(.roles(Dictionary(assignments.map { ($0.user, $0.role) }, uniquingKeysWith: { $1 }), reason: reason))
        }
        let keys = count == 0 ? [prompt] : [prompt + suffix(count: count), prompt]
        guard let (key, text) = text(keys: keys) else { return nil }
        send(text, prompt: key)
        return text
    }

    /// Bazaar's match: present members in random order take the roles in order.
    mutating func match(prompt: String) -> String? {
        let members = present.shuffled(using: &generator)
        let count = members.count
        var assignments: [(String, String)] = []
        if count >= max(1, plan.settings.minMembersToMatch) {
            var list = roleNames
            if count > list.count, plan.settings.multipleToDefault {
                list = list.filter { $0 != defaultRole }
                list += Array(repeating: defaultRole, count: count - list.count)
            }
            assignments = zip(members, list).map { ($0, $1) }
        }
        return announce(assignments, prompt: prompt, reason: "match", count: count)
    }

    /// Bazaar's rotate: each role goes to someone who has never held it, else to someone who does
    /// not hold it now, else to whoever is left.
    mutating func rotate(prompt: String) -> String? {
        var remaining = present.shuffled(using: &generator)
        let count = remaining.count
        let names = roleNames
        let handOut = count <= names.count ? Array(names.prefix(count)) : names.filter { $0 != defaultRole }
        var assignments: [(String, String)] = []
        var unplaced: [String] = []
        for role in handOut {
            if let index = remaining.firstIndex(where: { !(history[$0]?.contains(role) ?? false) }) {
                assignments.append((remaining.remove(at: index), role))
            } else {
                unplaced.append(role)
            }
        }
        for role in unplaced where !remaining.isEmpty {
            let index = remaining.firstIndex { roles[$0] != role } ?? 0
            assignments.append((remaining.remove(at: index), role))
        }
        if count > names.count { assignments += remaining.map { ($0, defaultRole) } }
        return announce(assignments, prompt: prompt, reason: "rotate", count: count)
    }
}

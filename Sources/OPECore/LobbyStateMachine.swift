import Foundation

/// The lobby: who waits for which module, and when groups form. A pure value: the shell feeds
/// it joins, leaves, session news and clock ticks, and carries out the actions it returns.
///
/// Matching follows OPE's own lobby (see `docs/lobby.md`): first-in-first-out per module; a
/// waiting participant first tops up a young session below the target size; full groups of
/// `target` form at once; once the oldest waiter has waited longer than `settle`, a smaller group
/// forms (at least `min`), or, if fewer than `min` wait, they join a young session below `max`;
/// after `giveUp` a waiter is told and leaves the queue.
public struct LobbyStateMachine: Sendable {
    /// One participant waiting.
    public struct Entry: Sendable, Hashable, Codable {
        public var user: String
        public var module: String
        public var joinedAt: Date

        public init(user: String, module: String, joinedAt: Date) {
            self.user = user
            self.module = module
            self.joinedAt = joinedAt
        }
    }

    /// A running session that may still take late joiners.
    public struct OpenSession: Sendable, Hashable {
        public var id: String
        public var module: String
        public var size: Int
        public var createdAt: Date

        public init(id: String, module: String, size: Int, createdAt: Date) {
            self.id = id
            self.module = module
            self.size = size
            self.createdAt = createdAt
        }
    }

    /// What the shell must do.
    public enum Action: Sendable, Hashable {
        /// Form a new session on `module` with these members, in queue order.
        case formSession(module: String, members: [String])
        /// Put `user` into the existing session `session` (a late joiner).
        case addToSession(session: String, user: String)
        /// `user` waited too long for `module`; tell them and forget them.
        case giveUp(user: String, module: String)
    }

    public enum JoinError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
        case unknownModule(String)
        case closed(String)
        case staticMode(String)
        case alreadyWaiting(module: String)

        public var description: String {
            switch self {
            case .unknownModule(let module): "no module '\(module)'"
            case .closed(let module): "module '\(module)' is not open for joining"
            case .staticMode(let module): "module '\(module)' uses fixed groups set by the instructor; ask them to add you to a group"
            case .alreadyWaiting(let module): "you are already waiting for '\(module)'"
            }
        }
    }

    /// Matching rules per module id.
    public private(set) var settings: [String: ModuleSettings] = [:]
    /// Waiting participants per module, oldest first.
    public private(set) var queues: [String: [Entry]] = [:]
    /// Sessions that may take late joiners, by id.
    public private(set) var openSessions: [String: OpenSession] = [:]

    public init() {}

    /// Matching rules for one module.
    public struct ModuleSettings: Sendable, Hashable {
        public var group: GroupSize
        public var matching: MatchingPolicy

        public init(group: GroupSize, matching: MatchingPolicy) {
            self.group = group
            self.matching = matching
        }
    }

    /// Sets (or changes) a module's rules. Closing a module or switching it to static mode leaves
    /// people already waiting where they are; they are matched or give up as before.
    public mutating func configure(module: String, _ moduleSettings: ModuleSettings) {
        settings[module] = moduleSettings
    }

    /// The module a user waits for, if any.
    public func waiting(_ user: String) -> Entry? {
        for queue in queues.values { if let entry = queue.first(where: { $0.user == user }) { return entry } }
        return nil
    }

    /// 1-based place of `user` in their module's queue.
    public func position(of user: String) -> Int? {
        guard let entry = waiting(user) else { return nil }
        return queues[entry.module]?.firstIndex { $0.user == user }.map { $0 + 1 }
    }

    /// What a waiting participant can expect, in the lobby's own terms, so the page can say it
    /// before it happens.
    public struct Outlook: Sendable, Hashable {
        /// From just after this moment a smaller group may form (at least `group.min`): with
        /// `group.min` 1, a participant still alone then starts on their own.
        public var settleAt: Date
        /// At this moment the lobby gives up on them (``Action/giveUp(user:module:)``).
        public var giveUpAt: Date
        public var group: GroupSize
    }

    /// When `user`'s wait changes: the settle and give-up times of their module's rules.
    public func outlook(of user: String) -> Outlook? {
        guard let entry = waiting(user), let moduleSettings = settings[entry.module] else { return nil }
        return Outlook(
            settleAt: entry.joinedAt.addingTimeInterval(moduleSettings.matching.settle.timeInterval),
            giveUpAt: entry.joinedAt.addingTimeInterval(moduleSettings.matching.giveUp.timeInterval), group: moduleSettings.group
        )
    }

    /// Adds `user` to the end of `module`'s queue.
    public mutating func join(user: String, module: String, now: Date) throws(JoinError) {
        guard let moduleSettings = settings[module] else { throw .unknownModule(module) }
        if let entry = waiting(user) { throw .alreadyWaiting(module: entry.module) }
        guard moduleSettings.matching.mode == .dynamic else { throw .staticMode(module) }
        guard moduleSettings.matching.open else { throw .closed(module) }
        queues[module, default: []].append(Entry(user: user, module: module, joinedAt: now))
    }

    /// Restores a waiting entry from the log (no checks: it was accepted once).
    public mutating func restore(_ entry: Entry) {
        guard waiting(entry.user) == nil else { return }
        queues[entry.module, default: []].append(entry)
        queues[entry.module]?.sort { $0.joinedAt < $1.joinedAt }
    }

    /// Removes `user` from any queue; returns the module they waited for.
    @discardableResult
    public mutating func leave(user: String) -> String? {
        guard let entry = waiting(user) else { return nil }
        queues[entry.module]?.removeAll { $0.user == user }
        return entry.module
    }

    /// A session formed or changed size: remember it for late joiners.
    public mutating func sessionUpdated(_ session: OpenSession) {
        openSessions[session.id] = session
    }

    /// A member left `id` for good: its seat may go to a late joiner while the session is young.
    public mutating func memberLeft(session id: String) {
        guard var session = openSessions[id] else { return }
        session.size = max(0, session.size - 1)
        openSessions[id] = session
    }

    /// A session ended (or must not take newcomers any more).
    public mutating func sessionClosed(_ id: String) {
        openSessions[id] = nil
    }

    /// One matching pass over every module at `now`. Actions are already applied to this value
    /// (queues shrink, open sessions grow); ``Action/formSession(module:members:)`` sessions
    /// are registered by the shell through ``sessionUpdated(_:)`` once they have an id.
    ///
    /// With `formGroups` false no new session forms (workspace starts are at their limit): people
    /// still join young sessions and give up on time, and groups form at a later pass.
    public mutating func tick(now: Date, formGroups: Bool = true) -> [Action] {
        var actions: [Action] = []
        for module in queues.keys.sorted() {
            guard let moduleSettings = settings[module] else { continue }
            actions += pass(module: module, settings: moduleSettings, now: now, formGroups: formGroups)
        }
        // Forget sessions too old for late joiners, so the table stays small.
        for (id, session) in openSessions {
            let window = settings[session.module]?.matching.lateJoin ?? .zero
            if now.timeIntervalSince(session.createdAt) >= (window).timeInterval { openSessions[id] = nil }
        }
        return actions
    }

    private mutating func pass(module: String, settings: ModuleSettings, now: Date, formGroups: Bool) -> [Action] {
        var queue = queues[module] ?? []
        guard !queue.isEmpty else { return [] }
        let group = settings.group
        let settle = (settings.matching.settle).timeInterval
        var actions: [Action] = []

        // a. Top up young sessions below the target, smallest then oldest first.
        actions += fillSessions(module: module, upTo: group.target, from: &queue, now: now, lateJoin: settings.matching.lateJoin)
        // b. Full groups at the target size.
        while formGroups, queue.count >= group.target {
            let members = queue.prefix(group.target).map(\.user)
            queue.removeFirst(group.target)
            actions.append(.formSession(module: module, members: members))
        }
        // c. Someone has waited longer than the settle time.
        let someoneDue = queue.contains { now.timeIntervalSince($0.joinedAt) > settle }
        if someoneDue, queue.count < group.min {
            // d. Too few for a group of their own: overfill a young session up to the maximum.
            actions += fillSessions(module: module, upTo: group.max, from: &queue, now: now, lateJoin: settings.matching.lateJoin)
        }
        // e. A smaller group of everyone left, if it is big enough.
        if formGroups, someoneDue, !queue.isEmpty, queue.count >= group.min {
            actions.append(.formSession(module: module, members: queue.map(\.user)))
            queue.removeAll()
        }
        // f. Give up on those who waited too long.
        let giveUp = (settings.matching.giveUp).timeInterval
        queue.removeAll { entry in
            guard now.timeIntervalSince(entry.joinedAt) >= giveUp else { return false }
            actions.append(.giveUp(user: entry.user, module: module))
            return true
        }
        queues[module] = queue.isEmpty ? nil : queue
        return actions
    }

    /// Moves people from the head of `queue` into young sessions of `module` below `size`,
    /// smallest and then oldest session first.
    private mutating func fillSessions(module: String, upTo size: Int, from queue: inout [Entry], now: Date, lateJoin: Duration) -> [Action] {
        let candidates = openSessions.values
            .filter { $0.module == module && $0.size < size && now.timeIntervalSince($0.createdAt) < lateJoin.timeInterval }
            .sorted { ($0.size, $0.createdAt, $0.id) < ($1.size, $1.createdAt, $1.id) }
        var actions: [Action] = []
        for var session in candidates {
            while session.size < size, !queue.isEmpty {
                let entry = queue.removeFirst()
                session.size += 1
                actions.append(.addToSession(session: session.id, user: entry.user))
            }
            openSessions[session.id] = session
        }
        return actions
    }
}

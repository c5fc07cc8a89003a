import Foundation

/// One group's session: its phase, members, seats and roles. A pure value driven by the shell
/// with connections, workspace news, commands and clock ticks; it returns what changed.
///
/// Phases: `pending` (formed) → `starting` (workspace starting) → `active` → `completed` or
/// `abandoned` (everyone gone longer than the grace period). Members keep their seat and role
/// while away; roles rotate on command or on the module's timer.
public struct SessionStateMachine: Sendable, Hashable, Codable {
    public enum Phase: String, Sendable, Hashable, Codable, CaseIterable {
        case pending, starting, active, completed, abandoned

        public var isOver: Bool { self == .completed || self == .abandoned }
    }

    public struct Member: Sendable, Hashable, Codable {
        public var user: String
        public var role: String
        public var joinedAt: Date
        /// When the member's last connection closed; nil while connected. Set at formation too,
        /// so a member who never shows up counts as gone.
        public var awaySince: Date?
        public var lateJoiner: Bool
    }

    /// Something the shell must record and announce.
    public enum Action: Sendable, Hashable {
        case phaseChanged(Phase)
        /// New role of every member after a change; `reason` is `start`, `rotate`, `late_join`.
        case rolesChanged([String: String], reason: String)
        case memberJoined(user: String, role: String)
        /// `user` left the team for good (they chose to); their seat is gone.
        case memberLeft(user: String)
    }

    public let id: String
    public let module: String
    public let createdAt: Date
    public let roles: [String]
    public let lateJoinRole: String
    public let rotationInterval: Duration?
    public let gracePeriod: Duration
    public private(set) var phase: Phase = .pending
    public private(set) var members: [Member]
    /// How many rotations have happened.
    public private(set) var rotation = 0
    public private(set) var lastRotation: Date
    /// When the session reached `active`.
    public private(set) var activeSince: Date?
    /// The experiment condition the session was assigned, if its module runs an experiment.
    public var condition: String?

    /// Forms a session; members get roles in order (driver, navigator, researcher, then around again).
    public init(
        id: String, module: String, members: [String], roles: [String], lateJoinRole: String, rotationInterval: Duration?, gracePeriod: Duration,
        now: Date
    ) {
        precondition(!roles.isEmpty, "a session needs at least one role")
        self.id = id
        self.module = module
        self.createdAt = now
        self.roles = roles
        self.lateJoinRole = lateJoinRole
        self.rotationInterval = rotationInterval
        self.gracePeriod = gracePeriod
        self.lastRotation = now
        let lineup = Self.lineup(roles: roles, lateJoinRole: lateJoinRole, size: members.count)
        self.members = members.enumerated().map { index, user in
            Member(user: user, role: lineup[index], joinedAt: now, awaySince: now, lateJoiner: false)
        }
    }

    /// The roles a team of `size` plays, in seat order: the module's roles as far as there are
    /// people for them, and for anyone beyond that the late-join role (never a second of the first
    /// role). A pair is driver and navigator; one person drives alone.
    public static func lineup(roles: [String], lateJoinRole: String, size: Int) -> [String] {
        let spare = spareRole(roles: roles, lateJoinRole: lateJoinRole)
        return (0..<max(0, size)).map { $0 < roles.count ? roles[$0] : spare }
    }

    /// The role of people beyond the module's roles: the late-join role, unless that is the
    /// first (driving) role, which only one member may have.
    static func spareRole(roles: [String], lateJoinRole: String) -> String {
        lateJoinRole != roles[0] ? lateJoinRole : roles[roles.count - 1]
    }

    public var roleMap: [String: String] { Dictionary(uniqueKeysWithValues: members.map { ($0.user, $0.role) }) }

    public func member(_ user: String) -> Member? { members.first { $0.user == user } }

    /// Whether `user` may see the session (its room, its workspace): its members, and staff.
    public func admits(_ user: User) -> Bool { member(user.username) != nil || user.role.isStaff }

    /// When the next timed rotation is due, if the module rotates on a timer.
    public var nextRotation: Date? {
        guard let rotationInterval, phase == .active else { return nil }
        return lastRotation.addingTimeInterval((rotationInterval).timeInterval)
    }

    /// Moves to `phase` if that is forward; returns the action, or nothing if no change.
    public mutating func advance(to newPhase: Phase, now: Date) -> [Action] {
        let order: [Phase] = [.pending, .starting, .active]
        guard !phase.isOver, newPhase != phase else { return [] }
        if let from = order.firstIndex(of: phase), let to = order.firstIndex(of: newPhase), to < from { return [] }
        phase = newPhase
        if newPhase == .active {
            activeSince = now
            lastRotation = now
        }
        return [.phaseChanged(newPhase)]
    }

    /// A member opened a connection.
    public mutating func connected(_ user: String) {
        guard let index = members.firstIndex(where: { $0.user == user }) else { return }
        members[index].awaySince = nil
    }

    /// A member's last connection closed.
    public mutating func disconnected(_ user: String, now: Date) {
        guard let index = members.firstIndex(where: { $0.user == user }) else { return }
        members[index].awaySince = now
    }

    /// Adds a member of a fixed group arriving before the session started: they take the next
    /// seat and its role. Once the session runs, arrivals are late joiners instead.
    public mutating func addMember(_ user: String, now: Date) -> [Action] {
        guard phase == .pending else { return addLateJoiner(user, now: now) }
        guard member(user) == nil else { return [] }
        // Before the start everyone takes the seat's role of the team's new size.
        let lineup = Self.lineup(roles: roles, lateJoinRole: lateJoinRole, size: members.count + 1)
        for index in members.indices { members[index].role = lineup[index] }
        members.append(Member(user: user, role: lineup[members.count], joinedAt: now, awaySince: now, lateJoiner: false))
        return [.memberJoined(user: user, role: lineup[members.count - 1])]
    }

    /// Adds a late joiner with the module's late-join role (the lineup's spare role if that would
    /// make a second driver).
    public mutating func addLateJoiner(_ user: String, now: Date) -> [Action] {
        guard !phase.isOver, member(user) == nil else { return [] }
        let hasDriver = members.contains { $0.role == roles[0] }
        let role = hasDriver ? Self.spareRole(roles: roles, lateJoinRole: lateJoinRole) : lateJoinRole
        members.append(Member(user: user, role: role, joinedAt: now, awaySince: now, lateJoiner: true))
        return [.memberJoined(user: user, role: role)]
    }

    /// A member leaves the team for good, by their own choice: their seat goes and the others work
    /// on. The roles become the lineup of the smaller team, counted from whoever drives now — or,
    /// if the leaver was driving, from the next seat, who takes over with a whole turn (the
    /// rotation timer starts again) — so the team always has exactly one driver. The last one to
    /// leave ends the session as `abandoned`: nobody is left to finish it.
    public mutating func removeMember(_ user: String, now: Date) -> [Action] {
        guard !phase.isOver, let index = members.firstIndex(where: { $0.user == user }) else { return [] }
        let driver = members.firstIndex { $0.role == roles[0] }
        members.remove(at: index)
        guard !members.isEmpty else {
            phase = .abandoned
            return [.memberLeft(user: user), .phaseChanged(.abandoned)]
        }
        let before = roleMap
        // The seat that drives after the change, in the shortened list.
        let first: Int
        switch driver {
        case .some(let seat) where seat == index: first = index % members.count
        case .some(let seat) where seat > index: first = seat - 1
        case .some(let seat): first = seat
        case .none: first = 0
        }
        let lineup = Self.lineup(roles: roles, lateJoinRole: lateJoinRole, size: members.count)
        for offset in 0..<members.count { members[(first + offset) % members.count].role = lineup[offset] }
        if driver == index { lastRotation = now }
        return roleMap == before ? [.memberLeft(user: user)] : [.memberLeft(user: user), .rolesChanged(roleMap, reason: "member_left")]
    }

    /// Rotates roles one step: the first role (the driver's) passes to the next seat and the
    /// others follow it in the lineup of the team's size, so a pair swaps driver and navigator,
    /// three go through all three roles, and one person keeps driving. The rotation timer starts
    /// again.
    public mutating func rotate(now: Date) -> [Action] {
        guard !phase.isOver, !members.isEmpty else { return [] }
        rotation += 1
        lastRotation = now
        let lineup = Self.lineup(roles: roles, lateJoinRole: lateJoinRole, size: members.count)
        let driver = members.firstIndex { $0.role == roles[0] } ?? (rotation - 1) % members.count
        let before = roleMap
        for offset in 0..<members.count {
            members[(driver + 1 + offset) % members.count].role = lineup[offset]
        }
        return roleMap == before ? [] : [.rolesChanged(roleMap, reason: "rotate")]
    }

    /// Gives the named members new roles (the bot's match and rotate); others keep theirs. The
    /// change is recorded even when nobody's role differs: the assignment itself is an event. It
    /// starts the rotation timer again, like any rotation: a driver gets the whole turn.
    public mutating func assign(roles map: [String: String], reason: String, now: Date) -> [Action] {
        guard !phase.isOver else { return [] }
        var named = false
        for index in members.indices {
            guard let role = map[members[index].user], roles.contains(role) else { continue }
            members[index].role = role
            named = true
        }
        guard named else { return [] }
        lastRotation = now
        return [.rolesChanged(roleMap, reason: reason)]
    }

    /// Sets roles as recorded in the log (restart recovery).
    public mutating func restore(roles map: [String: String], rotation: Int, at time: Date) {
        for index in members.indices { if let role = map[members[index].user] { members[index].role = role } }
        self.rotation = rotation
        self.lastRotation = time
    }

    /// Restores the phase as recorded in the log (restart recovery).
    public mutating func restore(phase: Phase, at time: Date) {
        self.phase = phase
        if phase == .active { activeSince = time }
    }

    /// Ends the session (the instructor or the bot says the work is done).
    public mutating func complete() -> [Action] {
        guard !phase.isOver else { return [] }
        phase = .completed
        return [.phaseChanged(.completed)]
    }

    /// Timers: rotation, and abandonment once every member has been away longer than the grace period.
    public mutating func tick(now: Date) -> [Action] {
        guard !phase.isOver else { return [] }
        let grace = (gracePeriod).timeInterval
        let allAway = members.allSatisfy { member in member.awaySince.map { now.timeIntervalSince($0) > grace } ?? false }
        if allAway {
            phase = .abandoned
            return [.phaseChanged(.abandoned)]
        }
        if let next = nextRotation, now >= next {
            return rotate(now: now)
        }
        return []
    }
}

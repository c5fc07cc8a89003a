import Foundation
import Logging
import Metrics
import OPEBot
import OPECore
import OPEStore

/// The shell around the lobby and the sessions: it feeds the pure state machines, records what
/// they decide in the event log, and answers questions about who is where.
///
/// Changes are applied to the state machines at once (so concurrent calls see each other), and
/// every answer waits until the events behind it are committed: nothing is acknowledged or shown
/// before it is durable. ``restore()`` rebuilds the whole state from the log after a restart.
public actor SessionManager {
    public struct Configuration: Sendable {
        /// How long a session waits for its members to come back before it is abandoned.
        public var gracePeriod: Duration = .seconds(120)
        /// With no workspaces a session is active as soon as it forms.
        public var workspacesEnabled = false
        /// In a cluster, the core this manager runs on: its session ids name it (see ``ShardMap``).
        public var shard: ShardPlace?

        public init(gracePeriod: Duration = .seconds(120), workspacesEnabled: Bool = false, shard: ShardPlace? = nil) {
            self.gracePeriod = gracePeriod
            self.workspacesEnabled = workspacesEnabled
            self.shard = shard
        }
    }

    let events: EventLog
    let reader: EventReader
    let configuration: Configuration
    let logger: Logger
    /// The lobby's and the sessions' time: settle, give-up, rotation and grace are measured on it.
    public nonisolated let clock: any PlatformClock
    var generator: any RandomNumberGenerator & Sendable
    var lobby = LobbyStateMachine()
    var modules: [String: Module] = [:]
    var sessions: [String: SessionStateMachine] = [:]
    var userSession: [String: String] = [:]
    var gaveUp: [String: String] = [:]
    /// Fixed groups per module (static mode): module → group name → usernames.
    var staticGroups: [String: [String: [String]]] = [:]
    /// The session of each fixed group, keyed "module/group".
    var staticSessions: [String: String] = [:]
    /// Sessions formed so far per module running an experiment (the next one's index).
    var experimentCounts: [String: Int] = [:]
    /// Commit barrier: answers wait until every change made before them is durable.
    var nextChange = 0
    var uncommitted: Set<Int> = []
    var barrierWaiters: [(Int, CheckedContinuation<Void, Never>)] = []
    let waitingGauge = Gauge(label: "ope_lobby_waiting")
    let liveGauge = Gauge(label: "ope_sessions_live")
    let leftCounter = Counter(label: "ope_session_members_left_total")

    public init(
        store: Store, configuration: Configuration = Configuration(), logger: Logger = Logger(label: "ope.sessions"),
        clock: any PlatformClock = SystemClock(), generator: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()
    ) {
        self.events = store.events
        self.reader = store.reader
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        self.generator = generator
    }

    // MARK: Modules

    /// Takes the modules on offer; their YAML sets the matching rules unless an instructor changed them.
    public func update(modules list: [Module]) {
        for module in list {
            let previous = modules[module.id]
            modules[module.id] = module
            if previous == nil || lobby.settings[module.id] == nil {
                lobby.configure(module: module.id, .init(group: module.group, matching: module.matching))
            } else if let current = lobby.settings[module.id] {
                lobby.configure(module: module.id, .init(group: module.group, matching: current.matching))
            }
        }
    }

    /// Matching rules in force for a module.
    public func matching(of module: String) -> MatchingPolicy? { lobby.settings[module]?.matching }

    /// An instructor opens or closes a module, or switches its mode.
    public func setMatching(module: String, open: Bool?, mode: MatchingPolicy.Mode?, by actor: String) async throws -> MatchingPolicy {
        guard var settings = lobby.settings[module] else { throw JoinError.lobby(.unknownModule(module)) }
        if let open { settings.matching.open = open }
        if let mode { settings.matching.mode = mode }
        lobby.configure(module: module, settings)
        let draft = EventDraft(
            time: clock.now, type: .moduleMatchingChanged, actor: actor,
            payload: MatchingChangedPayload(module: module, open: settings.matching.open, mode: settings.matching.mode)
        )
        try await commit([draft])
        return settings.matching
    }

    // MARK: Lobby

    /// Puts `user` in the queue of `module` and runs a matching pass.
    ///
    /// Someone in a live session is refused (``JoinError/inSession(session:module:)``) unless
    /// `leaving` names that session: then they leave it and join in one step, so they are never
    /// half out of one team and not yet in the next queue.
    ///
    /// `canStart` says whether a new session could get its workspace now; without it the lobby
    /// holds the group back instead of piling up sessions that cannot start.
    public func join(user: String, module: String, leaving: String? = nil, canStart: Bool = true) async throws -> Status {
        let now = clock.now
        var drafts: [EventDraft] = []
        if let id = userSession[user], let session = sessions[id], !session.phase.isOver {
            guard leaving == id else { throw JoinError.inSession(session: id, module: session.module) }
            // Check the join first: a refused join must not cost them their team.
            try checkJoin(user: user, module: module)
            drafts += try departure(of: user, from: id, now: now).drafts
        }
        if let settings = lobby.settings[module], settings.matching.mode == .static {
            guard settings.matching.open else { throw JoinError.lobby(.closed(module)) }
            drafts += try joinGroup(user: user, module: module, now: now)
            try await commit(drafts)
            return status(of: user)
        }
        do {
            try lobby.join(user: user, module: module, now: now)
        } catch {
            try await commit(drafts)
            throw JoinError.lobby(error)
        }
        gaveUp[user] = nil
        drafts.append(EventDraft(time: now, type: .lobbyJoined, actor: user, payload: LobbyPayload(module: module)))
        drafts += apply(lobby.tick(now: now, formGroups: canStart), now: now)
        try await commit(drafts)
        return status(of: user)
    }

    /// Everyone waiting, per module, in queue order (the instructor dashboard).
    public func queueSnapshot() async -> [String: [LobbyStateMachine.Entry]] {
        await barrier()
        return lobby.queues
    }

    /// Takes `user` out of the queue; false if they were not waiting.
    public func leave(user: String) async throws -> Bool {
        let now = clock.now
        guard let module = lobby.leave(user: user) else { return false }
        try await commit([EventDraft(time: now, type: .lobbyLeft, actor: user, payload: LobbyPayload(module: module))])
        return true
    }

    /// Whether `user` could join `module` now (the lobby's own checks, without joining).
    private func checkJoin(user: String, module: String) throws(JoinError) {
        guard let settings = lobby.settings[module] else { throw .lobby(.unknownModule(module)) }
        guard settings.matching.open else { throw .lobby(.closed(module)) }
        if settings.matching.mode == .static {
            guard staticGroups[module]?.values.contains(where: { $0.contains(user) }) == true else { throw .notInGroup(module: module) }
        } else if let entry = lobby.waiting(user) {
            throw .lobby(.alreadyWaiting(module: entry.module))
        }
    }

    /// `user` leaves their session `id` for good: the team is told (a `session.member_left`
    /// event in its room), the others work on with roles for their new size, and the last one out
    /// ends it. The leaver may join another module at once.
    public func leaveSession(user: String, session id: String) async throws -> Departure {
        let (drafts, departure) = try departure(of: user, from: id, now: clock.now)
        try await commit(drafts)
        return departure
    }

    private func departure(of user: String, from id: String, now: Date) throws(LeaveError) -> (drafts: [EventDraft], departure: Departure) {
        guard var session = sessions[id] else { throw .unknownSession(id) }
        guard session.member(user) != nil else { throw .notMember(session: id) }
        guard !session.phase.isOver else { throw .over(session: id, phase: session.phase) }
        let actions = session.removeMember(user, now: now)
        sessions[id] = session
        if userSession[user] == id { userSession[user] = nil }
        if session.phase.isOver { close(session) } else { lobby.memberLeft(session: id) }
        leftCounter.increment()
        logger.info("member left the session", metadata: ["session": "\(id)", "user": "\(user)", "remaining": "\(session.members.count)"])
        let departure = Departure(session: id, module: session.module, remaining: session.members.map(\.user), phase: session.phase)
        return (drafts(for: actions, session: session, actor: user, now: now), departure)
    }

    /// Where `user` stands now (after everything before this call is committed).
    public func status(of user: String) -> Status {
        if let id = userSession[user], let session = sessions[id], !session.phase.isOver { return .matched(session: id) }
        if let entry = lobby.waiting(user), let position = lobby.position(of: user), let outlook = lobby.outlook(of: user) {
            return .waiting(
                Waiting(
                    module: entry.module, position: position, since: entry.joinedAt, settleAt: outlook.settleAt, giveUpAt: outlook.giveUpAt,
                    group: outlook.group)
            )
        }
        if let module = gaveUp[user] { return .gaveUp(module: module) }
        return .idle
    }

    /// The same, waiting first for changes in flight to be committed.
    public func committedStatus(of user: String) async -> Status {
        await barrier()
        return status(of: user)
    }

    // MARK: Sessions

    /// A copy of the session, once everything before this call is committed.
    public func session(_ id: String) async -> SessionStateMachine? {
        await barrier()
        return sessions[id]
    }

    /// How much longer newcomers from the lobby may still join session `id` (nil for fixed
    /// groups, and once the module's late-join window has passed).
    public func lateJoinTimeLeft(session id: String) -> Duration? {
        guard let session = sessions[id], !session.phase.isOver, !staticSessions.values.contains(id),
            let window = lobby.settings[session.module]?.matching.lateJoin
        else { return nil }
        let left = window.timeInterval - clock.now.timeIntervalSince(session.createdAt)
        return left > 0 ? .seconds(left) : nil
    }

    /// The live session `user` is in, if any.
    public func currentSession(of user: String) async -> SessionStateMachine? {
        await barrier()
        guard let id = userSession[user], let session = sessions[id], !session.phase.isOver else { return nil }
        return session
    }

    /// Sessions not yet over.
    public func liveSessions() async -> [SessionStateMachine] {
        await barrier()
        return sessions.values.filter { !$0.phase.isOver }.sorted { $0.createdAt < $1.createdAt }
    }

    /// A member's first connection opened: record their presence.
    public func connected(user: String, session id: String) async throws {
        guard sessions[id]?.member(user) != nil else { return }
        sessions[id]?.connected(user)
        try await commit([EventDraft(time: clock.now, type: .presenceJoined, actor: user, session: id)])
    }

    /// A member's last connection closed.
    public func disconnected(user: String, session id: String) async throws {
        let now = clock.now
        guard sessions[id]?.member(user) != nil else { return }
        sessions[id]?.disconnected(user, now: now)
        try await commit([EventDraft(time: now, type: .presenceLeft, actor: user, session: id)])
    }

    /// Rotates a session's roles (a bot or instructor command).
    public func rotate(session id: String, by actor: String) async throws -> Bool {
        let now = clock.now
        guard var session = sessions[id] else { return false }
        let actions = session.rotate(now: now)
        sessions[id] = session
        try await commit(drafts(for: actions, session: session, actor: actor, now: now))
        return !actions.isEmpty
    }

    /// Gives members new roles (module role names), as the bot's match and rotate decide.
    public func assignRoles(session id: String, roles map: [String: String], reason: String, by actor: String) async throws {
        let now = clock.now
        guard var session = sessions[id] else { return }
        let actions = session.assign(roles: map, reason: reason, now: now)
        sessions[id] = session
        try await commit(drafts(for: actions, session: session, actor: actor, now: now))
    }

    /// Ends a session as completed.
    public func complete(session id: String, by actor: String) async throws -> Bool {
        let now = clock.now
        guard var session = sessions[id] else { return false }
        let actions = session.complete()
        sessions[id] = session
        if !actions.isEmpty { close(session) }
        try await commit(drafts(for: actions, session: session, actor: actor, now: now))
        return !actions.isEmpty
    }

    /// One pass of the timers: matching (new groups only if `canStart`, see ``join(user:module:leaving:canStart:)``),
    /// give-ups, rotations, abandonment.
    public func tick(canStart: Bool = true) async throws {
        let now = clock.now
        var drafts = apply(lobby.tick(now: now, formGroups: canStart), now: now)
        drafts += startWaitingGroups(now: now)
        // Every live session's timers, in place: with thousands of teams, copying each session out
        // and back, and sorting all their ids, was most of a tick. Those that acted are then
        // handled in id order, as before.
        var acted: [(id: String, actions: [SessionStateMachine.Action])] = []
        var live = 0
        var index = sessions.startIndex
        while index != sessions.endIndex {
            let (actions, isLive) = Self.tickIfLive(&sessions.values[index], now: now)
            if !actions.isEmpty { acted.append((sessions.keys[index], actions)) }
            if isLive { live += 1 }
            sessions.formIndex(after: &index)
        }
        for (id, actions) in acted.sorted(by: { $0.id < $1.id }) {
            guard let session = sessions[id] else { continue }
            if session.phase.isOver { close(session) }
            drafts += self.drafts(for: actions, session: session, actor: "system", now: now)
        }
        waitingGauge.record(lobby.queues.values.reduce(0) { $0 + $1.count })
        liveGauge.record(live)
        if !drafts.isEmpty { try await commit(drafts) }
    }

    /// One session's timers, changed where it lies (`inout`, so the session is not copied); whether
    /// it is still live after them.
    private static func tickIfLive(_ session: inout SessionStateMachine, now: Date) -> (actions: [SessionStateMachine.Action], live: Bool) {
        guard !session.phase.isOver else { return ([], false) }
        let actions = session.tick(now: now)
        return (actions, !session.phase.isOver)
    }

    // MARK: Workspaces

    /// What the workspaces reported: a `starting` session becomes active once its workspace is up,
    /// or has given up starting (the team sees why and can ask again). The workspace service
    /// writes only `workspace.*` events; the session's phase is decided here.
    public func observe(_ events: [Event]) async throws {
        for event in events where Self.observes(event) {
            if let session = event.session { try await workspaceSettled(session: session) }
        }
    }

    /// Whether ``observe(_:)`` acts on `event`: the feed hands over only these, so the rest of the
    /// log's traffic (chat, lobby joins) costs the manager's actor nothing.
    public nonisolated static func observes(_ event: Event) -> Bool {
        event.type == .workspaceStarted || event.type == .workspaceFailed
    }

    /// A module on offer, by id.
    public func module(named id: String) -> Module? { modules[id] }

    /// The module a session runs.
    public func module(ofSession id: String) -> Module? { sessions[id].flatMap { modules[$0.module] } }

    /// The workspace is up (or gave up starting): a `starting` session becomes active.
    private func workspaceSettled(session id: String) async throws {
        let now = clock.now
        guard var session = sessions[id], session.phase == .starting else { return }
        let actions = session.advance(to: .active, now: now)
        sessions[id] = session
        try await commit(drafts(for: actions, session: session, actor: "system", now: now))
    }

    // MARK: Fixed groups

    /// Sets the fixed groups of `module` and switches it to static mode, open.
    public func uploadGroups(module: String, groups: [String: [String]], by actor: String) async throws {
        guard var settings = lobby.settings[module] else { throw JoinError.lobby(.unknownModule(module)) }
        staticGroups[module] = groups
        settings.matching.mode = .static
        settings.matching.open = true
        lobby.configure(module: module, settings)
        let now = clock.now
        try await commit([
            EventDraft(time: now, type: .moduleGroupsUploaded, actor: actor, payload: GroupsUploadedPayload(module: module, groups: groups)),
            EventDraft(time: now, type: .moduleMatchingChanged, actor: actor, payload: MatchingChangedPayload(module: module, open: true, mode: .static)),
        ])
    }

    /// The fixed groups of a module, if it has any.
    public func groups(of module: String) -> [String: [String]]? { staticGroups[module] }

    /// A member of a fixed group arrives: into the group's session, formed by the first to come.
    private func joinGroup(user: String, module: String, now: Date) throws -> [EventDraft] {
        guard let (name, _) = staticGroups[module]?.first(where: { $0.value.contains(user) }) else { throw JoinError.notInGroup(module: module) }
        let key = module + "/" + name
        if let id = staticSessions[key], var session = sessions[id], !session.phase.isOver {
            let actions = session.addMember(user, now: now)
            sessions[id] = session
            userSession[user] = id
            return drafts(for: actions, session: session, actor: "lobby", now: now)
        }
        return formSession(module: module, members: [user], now: now, group: name)
    }

    /// Starts fixed-group sessions once everyone is there, or once the settle time has passed.
    private func startWaitingGroups(now: Date) -> [EventDraft] {
        var drafts: [EventDraft] = []
        for (key, id) in staticSessions {
            guard var session = sessions[id], session.phase == .pending else { continue }
            let module = String(key.split(separator: "/", maxSplits: 1)[0])
            let group = String(key.split(separator: "/", maxSplits: 1)[1])
            let expected = staticGroups[module]?[group]?.count ?? 0
            let settle = (lobby.settings[module]?.matching.settle ?? .seconds(5)).timeInterval
            guard session.members.count >= expected || now.timeIntervalSince(session.createdAt) > settle else { continue }
            let actions = session.advance(to: configuration.workspacesEnabled ? .starting : .active, now: now)
            sessions[id] = session
            drafts += self.drafts(for: actions, session: session, actor: "system", now: now)
        }
        return drafts
    }

    // MARK: Applying decisions

    private func apply(_ actions: [LobbyStateMachine.Action], now: Date) -> [EventDraft] {
        var drafts: [EventDraft] = []
        for action in actions {
            switch action {
            case .formSession(let moduleID, let members):
                drafts += formSession(module: moduleID, members: members, now: now)
            case .addToSession(let id, let user):
                guard var session = sessions[id] else { continue }
                let actions = session.addLateJoiner(user, now: now)
                sessions[id] = session
                userSession[user] = id
                drafts += self.drafts(for: actions, session: session, actor: "lobby", now: now)
            case .giveUp(let user, let module):
                gaveUp[user] = module
                drafts.append(EventDraft(time: now, type: .lobbyGaveUp, actor: user, payload: LobbyPayload(module: module)))
            }
        }
        return drafts
    }

    private func formSession(module moduleID: String, members: [String], now: Date, group: String? = nil) -> [EventDraft] {
        let module = modules[moduleID]
        let roles = module?.roles ?? Module.defaultRoles
        let id = newSessionID()
        var session = SessionStateMachine(
            id: id, module: moduleID, members: members, roles: roles, lateJoinRole: module?.lateJoinRole ?? roles.last!,
            rotationInterval: module?.rotationInterval, gracePeriod: configuration.gracePeriod, now: now
        )
        var payload = SessionFormedPayload(
            module: moduleID, members: members, roles: session.roleMap, roleOrder: roles, lateJoinRole: session.lateJoinRole,
            rotationSeconds: session.rotationInterval.map(DurationText.seconds), group: group
        )
        var assignment: EventDraft?
        if let experiment = module?.experiment {
            // Seeded, balanced randomisation over the module's sessions in the order they form.
            let index = experimentCounts[moduleID, default: 0]
            experimentCounts[moduleID] = index + 1
            let condition = ExperimentAssigner.condition(index: index, of: experiment)
            session.condition = condition
            payload.condition = condition
            assignment = EventDraft(
                time: now, type: .experimentAssigned, actor: "system", session: id,
                payload: ExperimentAssignedPayload(module: moduleID, condition: condition, index: index, seed: experiment.seed)
            )
        }
        var drafts = [EventDraft(time: now, type: .sessionFormed, actor: "lobby", session: id, payload: payload)]
        if let assignment { drafts.append(assignment) }
        if let group {
            // A fixed group waits (pending) for its other members, at most the settle time.
            staticSessions[moduleID + "/" + group] = id
        } else {
            let phase: SessionStateMachine.Phase = configuration.workspacesEnabled ? .starting : .active
            drafts += self.drafts(for: session.advance(to: phase, now: now), session: session, actor: "system", now: now)
        }
        sessions[id] = session
        for member in members { userSession[member] = id }
        if group == nil { lobby.sessionUpdated(.init(id: id, module: moduleID, size: members.count, createdAt: now)) }
        logger.info("session formed", metadata: ["session": "\(id)", "module": "\(moduleID)", "members": "\(members)"])
        return drafts
    }

    private func close(_ session: SessionStateMachine) {
        lobby.sessionClosed(session.id)
        for member in session.members where userSession[member.user] == session.id { userSession[member.user] = nil }
    }

    func drafts(for actions: [SessionStateMachine.Action], session: SessionStateMachine, actor: String, now: Date) -> [EventDraft] {
        actions.map { action in
            switch action {
            case .phaseChanged(let phase):
                return EventDraft(time: now, type: .sessionPhaseChanged, actor: actor, session: session.id, payload: PhaseChangedPayload(phase: phase))
            case .rolesChanged(let roles, let reason):
                return EventDraft(
                    time: now, type: .roleChanged, actor: actor, session: session.id,
                    payload: RolesPayload(roles: roles, reason: reason, rotation: session.rotation)
                )
            case .memberJoined(let user, let role):
                return EventDraft(
                    time: now, type: .sessionMemberJoined, actor: actor, session: session.id, payload: MemberJoinedPayload(user: user, role: role))
            case .memberLeft(let user):
                return EventDraft(
                    time: now, type: .sessionMemberLeft, actor: actor, session: session.id,
                    payload: MemberLeftPayload(user: user, remaining: session.members.map(\.user))
                )
            }
        }
    }

    private func newSessionID() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")
        while true {
            let id =
                ShardMap.sessionPrefix(core: configuration.shard?.index)
                + String((0..<10).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
            if sessions[id] == nil { return id }
        }
    }

    // MARK: Durability

    /// Commits `drafts`; the caller returns only after this, and readers wait for it.
    private func commit(_ drafts: [EventDraft]) async throws {
        guard !drafts.isEmpty else { return }
        let change = nextChange
        nextChange += 1
        uncommitted.insert(change)
        defer {
            uncommitted.remove(change)
            let oldest = uncommitted.min() ?? Int.max
            let ready = barrierWaiters.filter { $0.0 < oldest }
            barrierWaiters.removeAll { $0.0 < oldest }
            for (_, waiter) in ready { waiter.resume() }
        }
        do {
            _ = try await events.append(contentsOf: drafts)
        } catch {
            logger.error("could not record session changes", metadata: ["error": "\(error)", "events": "\(drafts.map(\.type))"])
            throw error
        }
    }

    /// Waits until every change begun before this call is committed.
    private func barrier() async {
        let mark = nextChange
        guard let oldest = uncommitted.min(), oldest < mark else { return }
        await withCheckedContinuation { barrierWaiters.append((mark - 1, $0)) }
    }
}

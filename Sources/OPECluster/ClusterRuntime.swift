import Foundation
import Logging
import OPECore
import OPEModules
import OPERuntime
import OPEStore
import OPEWorkspaces

/// The whole cluster as one ``RuntimeAPI``: what `ope serve --role edge` holds. It routes each
/// call by name alone (``ShardMap``): a lobby's calls go to its module's home core, a team's to
/// the core its session id names; questions about a person ask every core.
///
/// A call for a core that cannot be reached fails with
/// `RuntimeError(.unavailable(retryAfterSeconds:))` (503 with Retry-After at the HTTP edge) and
/// leaves the other cores' teams alone; questions that ask every core answer from the cores that
/// answer when that is still the truth (a module list), and fail when it would not be (where a
/// person stands).
public struct ClusterRuntime: Sendable {
    public let map: ShardMap
    /// One per core, in core order.
    public let cores: [any RuntimeAPI]

    public init(cores: [any RuntimeAPI]) {
        precondition(!cores.isEmpty, "a cluster has at least one core")
        self.cores = cores
        map = ShardMap(count: cores.count)
    }

    /// The core a session lives on.
    func core(ofSession id: String) throws -> any RuntimeAPI {
        guard let index = map.shard(ofSession: id) else { throw RuntimeError(.notFound, "no session '\(id)'") }
        return cores[index]
    }

    /// The core holding a module's lobby and teams.
    func home(ofModule id: String) -> any RuntimeAPI { cores[map.home(ofModule: id)] }

    /// Asks every core at once; answers in core order.
    func everyCore<Answer: Sendable>(_ ask: @escaping @Sendable (any RuntimeAPI) async throws -> Answer) async throws -> [Answer] {
        try await withThrowingTaskGroup(of: (Int, Answer).self) { group in
            for (index, core) in cores.enumerated() { group.addTask { (index, try await ask(core)) } }
            var answers: [(Int, Answer)] = []
            for try await answer in group { answers.append(answer) }
            return answers.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// Asks every core at once; each core's answer or failure, in core order. For questions about
    /// a person: where they are is known from the core that has them, even with another core down.
    func everyCoreSettled<Answer: Sendable>(_ ask: @escaping @Sendable (any RuntimeAPI) async throws -> Answer) async -> [Result<Answer, any Error>] {
        await withTaskGroup(of: (Int, Result<Answer, any Error>).self) { group in
            for (index, core) in cores.enumerated() {
                group.addTask {
                    do { return (index, .success(try await ask(core))) } catch { return (index, .failure(error)) }
                }
            }
            var answers: [(Int, Result<Answer, any Error>)] = []
            for await answer in group { answers.append(answer) }
            return answers.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// Asks the cores in turn until one answers: for what every core knows alike (the modules).
    func anyCore<Answer: Sendable>(_ ask: (any RuntimeAPI) async throws -> Answer) async throws -> Answer {
        var failure: (any Error)?
        for core in cores {
            do { return try await ask(core) } catch let error as RuntimeError {
                guard case .unavailable = error.kind else { throw error }
                failure = error
            }
        }
        throw failure ?? RuntimeError(.unavailable(retryAfterSeconds: 5), "no core answers")
    }
}

extension ClusterRuntime: RuntimeAPI {
    // MARK: Lobby

    public func join(user: String, module: String, leaving: String?) async throws -> SessionManager.Status {
        let home = map.home(ofModule: module)
        // One team at a time, across cores: the home core knows only its own teams.
        if let current = try await currentSession(of: user), map.shard(ofSession: current.id) != home {
            guard leaving == current.id else { throw SessionManager.JoinError.inSession(session: current.id, module: current.module) }
            _ = try await cores[map.shard(ofSession: current.id) ?? home].leave(user: user, session: current.id)
            return try await cores[home].join(user: user, module: module, leaving: nil)
        }
        return try await cores[home].join(user: user, module: module, leaving: leaving)
    }

    public func leaveLobby(user: String) async throws -> Bool {
        // A person waits in one lobby at most: the core that had them answers, even with another down.
        let answers = await everyCoreSettled { try await $0.leaveLobby(user: user) }
        if answers.contains(where: { (try? $0.get()) == true }) { return true }
        for answer in answers { _ = try answer.get() }
        return false
    }

    // MARK: A team's session

    public func leave(user: String, session: String) async throws -> SessionManager.Departure {
        guard map.shard(ofSession: session) != nil else { throw SessionManager.LeaveError.unknownSession(session) }
        return try await core(ofSession: session).leave(user: user, session: session)
    }

    public func chat(_ text: String, clientID: String, session: String, by user: String) async throws -> Event {
        try await core(ofSession: session).chat(text, clientID: clientID, session: session, by: user)
    }

    public func rotate(session: String, by actor: String) async throws -> Bool {
        guard map.shard(ofSession: session) != nil else { return false }
        return try await core(ofSession: session).rotate(session: session, by: actor)
    }

    public func hint(_ text: String, to target: HintTarget, by actor: String) async throws -> Int {
        switch target {
        case .session(let id): return try await core(ofSession: id).hint(text, to: target, by: actor)
        case .allLive: return try await everyCore { try await $0.hint(text, to: target, by: actor) }.reduce(0, +)
        }
    }

    public func end(session: String, by actor: String) async throws -> Bool {
        guard map.shard(ofSession: session) != nil else { return false }
        return try await core(ofSession: session).end(session: session, by: actor)
    }

    public func runTests(task: String, session: String, by actor: String) async throws -> TaskTestService.Outcome {
        try await core(ofSession: session).runTests(task: task, session: session, by: actor)
    }

    public func restartWorkspace(session: String, by actor: String) async throws {
        try await core(ofSession: session).restartWorkspace(session: session, by: actor)
    }

    public func connected(user: String, session: String) async throws {
        try await core(ofSession: session).connected(user: user, session: session)
    }

    public func disconnected(user: String, session: String) async throws {
        try await core(ofSession: session).disconnected(user: user, session: session)
    }

    public func setMatching(module: String, open: Bool?, mode: MatchingPolicy.Mode?, by actor: String) async throws -> MatchingPolicy {
        try await home(ofModule: module).setMatching(module: module, open: open, mode: mode, by: actor)
    }

    // MARK: Queries

    public func session(_ id: String) async throws -> SessionStateMachine? {
        guard map.shard(ofSession: id) != nil else { return nil }
        return try await core(ofSession: id).session(id)
    }

    public func currentSession(of user: String) async throws -> SessionStateMachine? {
        // The core with the person's team answers even with another core down; "no team" needs every core.
        let answers = await everyCoreSettled { try await $0.currentSession(of: user) }
        if let found = answers.lazy.compactMap({ try? $0.get() }).compactMap({ $0 }).first { return found }
        for answer in answers { _ = try answer.get() }
        return nil
    }

    public func liveSessions() async throws -> [SessionStateMachine] {
        try await everyCore { try await $0.liveSessions() }.flatMap { $0 }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    public func committedStatus(of user: String) async throws -> SessionManager.Status {
        // A person is in at most one place; a team beats a queue, a queue beats a lobby given up.
        func rank(_ status: SessionManager.Status) -> Int {
            switch status {
            case .matched: 3
            case .waiting: 2
            case .gaveUp: 1
            case .idle: 0
            }
        }
        let settled = await everyCoreSettled { try await $0.committedStatus(of: user) }
        let answers = settled.compactMap { try? $0.get() }
        // In a team or a queue is the whole truth, whatever the other cores say (or cannot).
        if let best = answers.max(by: { rank($0) < rank($1) }), rank(best) >= 2 { return best }
        for answer in settled { _ = try answer.get() }
        return answers.max { rank($0) < rank($1) } ?? .idle
    }

    public func lateJoinTimeLeft(session: String) async throws -> Duration? {
        guard map.shard(ofSession: session) != nil else { return nil }
        return try await core(ofSession: session).lateJoinTimeLeft(session: session)
    }

    public func queueSnapshot() async throws -> [String: [LobbyStateMachine.Entry]] {
        try await everyCore { try await $0.queueSnapshot() }.reduce(into: [:]) { merged, queues in
            merged.merge(queues) { $0 + $1 }
        }
    }

    public func matching(of module: String) async throws -> MatchingPolicy? {
        try await home(ofModule: module).matching(of: module)
    }

    public func groups(of module: String) async throws -> [String: [String]]? {
        try await home(ofModule: module).groups(of: module)
    }

    public func modules() async throws -> [Module] {
        try await anyCore { try await $0.modules() }
    }

    public func module(id: String) async throws -> Module? {
        try await home(ofModule: id).module(id: id)
    }

    public func moduleProblems() async throws -> [ModuleError] {
        try await anyCore { try await $0.moduleProblems() }
    }

    public func workspaceState(of session: String) async throws -> WorkspaceService.State? {
        guard map.shard(ofSession: session) != nil else { return nil }
        return try await core(ofSession: session).workspaceState(of: session)
    }

    public func activity(of session: SessionStateMachine) async throws -> TeamActivity {
        try await core(ofSession: session.id).activity(of: session)
    }

    // MARK: Modules

    public func uploadGroups(csv: String, module: String, by actor: String) async throws -> [String: [String]] {
        try await home(ofModule: module).uploadGroups(csv: csv, module: module, by: actor)
    }

    /// Every core fetches and reloads (each keeps its own copy); the answer is the first core's.
    public func syncModules(by actor: String) async throws -> ModuleSync {
        let answers = try await everyCore { try await $0.syncModules(by: actor) }
        return answers[0]
    }

    // MARK: Subscriptions

    /// Every core's committed events, each core's in its log order (cores' logs are independent:
    /// a team's events all come from its one core, so each room sees its own order).
    public func subscribe(_ deliver: @escaping @Sendable ([Event]) -> Void) async -> RuntimeSubscription {
        await onEveryCore { await $0.subscribe(deliver) }
    }

    /// One subscription made on every core, ended together.
    private func onEveryCore(_ subscribe: (any RuntimeAPI) async -> RuntimeSubscription) async -> RuntimeSubscription {
        var subscriptions: [RuntimeSubscription] = []
        for core in cores { subscriptions.append(await subscribe(core)) }
        let all = subscriptions
        return RuntimeSubscription {
            for subscription in all { await subscription.cancel() }
        }
    }

    public func openRoom(_ session: String) async throws { try await core(ofSession: session).openRoom(session) }

    public func closeRoom(_ session: String) async { try? await core(ofSession: session).closeRoom(session) }

    public func typing(_ note: TypingNote) async { try? await core(ofSession: note.session).typing(note) }

    public func followTyping(_ deliver: @escaping @Sendable (TypingNote) -> Void) async -> RuntimeSubscription {
        await onEveryCore { await $0.followTyping(deliver) }
    }

    public func history(session: String, after: Int64?, page: ([Event]) async throws -> Void) async throws {
        try await core(ofSession: session).history(session: session, after: after, page: page)
    }

    /// Each core's log in turn, filtered: every session's events in their order (a session lives
    /// on one core). Event ids are each core's own; ``ClusterExport`` labels them with their core.
    public func export(_ filter: EventFilter, page: ([Event]) async throws -> Void) async throws {
        if let session = filter.session {
            try await core(ofSession: session).export(filter, page: page)
            return
        }
        try Self.refusePagingByID(filter)
        for core in cores { try await core.export(filter, page: page) }
    }

    /// The download of the record: one session's from its core, or every core's merged in time
    /// order with each line naming its core (``ClusterExport``), as `ope export events --cores` writes it.
    public func recordExport(_ filter: EventFilter, format: EventExporter.Format) throws -> RecordExport {
        if let session = filter.session { return try core(ofSession: session).recordExport(filter, format: format) }
        try Self.refusePagingByID(filter)
        guard let remotes = cores as? [RemoteRuntime] else {
            let records = try cores.map { try $0.recordExport(filter, format: format) }
            return RecordExport { write in for record in records { try await record.run(write: write) } }
        }
        return RecordExport { write in try await ClusterExport(cores: remotes, format: format).run(filter, write: write) }
    }

    /// An event id means a place in one core's log: across cores it says nothing.
    static func refusePagingByID(_ filter: EventFilter) throws {
        guard filter.afterID == nil, filter.upToID == nil else {
            throw RuntimeError(
                .invalid,
                "in a cluster each core numbers its own events, so `after` pages only within one session (add session=…); for everything, use since/until or the export, whose lines name their core"
            )
        }
    }

    /// Up to `limit` events from every core's log, oldest first across cores (ids are each core's own).
    public func events(_ filter: EventFilter, limit: Int) async throws -> [Event] {
        if let session = filter.session { return try await core(ofSession: session).events(filter, limit: limit) }
        try Self.refusePagingByID(filter)
        let pages = try await everyCore { try await $0.events(filter, limit: limit) }
        return Array(pages.flatMap { $0 }.sorted { $0.time < $1.time }.prefix(limit))
    }
}

/// The proxy's view of every core's workspaces: a workspace id names its core (`s<core>-…` for a
/// session's, `p<core>-…` for a warm pool's).
extension ClusterRuntime: WorkspaceAccess {
    func workspaceCore(_ id: String) -> (any RuntimeAPI & WorkspaceAccess)? {
        map.shard(ofWorkspace: id).flatMap { cores[$0] as? any RuntimeAPI & WorkspaceAccess }
    }

    public func route(_ id: String) -> Workspace? { workspaceCore(id)?.route(id) }

    public func resolve(_ id: String) async throws -> Workspace? { try await workspaceCore(id)?.resolve(id) }

    public func open(session: String) async throws -> Workspace? {
        guard let core = workspaceCore(session) else { throw RuntimeError(.notFound, "no session '\(session)'") }
        return try await core.open(session: session)
    }

    public func state(of session: String) async throws -> WorkspaceService.State? { try await workspaceCore(session)?.state(of: session) }

    public func touch(session: String) { workspaceCore(session)?.touch(session: session) }

    public func noteEdit(_ edit: DocumentEdit, logger: Logger) async {
        await workspaceCore(edit.session)?.noteEdit(edit, logger: logger)
    }

    public func record(_ activity: [EventDraft], logger: Logger) async {
        for (session, drafts) in Dictionary(grouping: activity, by: { $0.session ?? "" }) {
            await workspaceCore(session)?.record(drafts, logger: logger)
        }
    }
}

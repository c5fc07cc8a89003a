import Foundation
import OPECore
import OPEModules
import OPEStore

/// The in-process runtime carries out the commands itself.
extension Runtime: RuntimeAPI {
    /// The longest hint, in characters.
    public static let maxHintLength = 1000

    public func join(user: String, module: String, leaving: String?) async throws -> SessionManager.Status {
        if let shard = configuration.shard, !shard.owns(module: module) {
            // An edge routed by another cluster size than this core's: say so rather than split the queue.
            throw RuntimeError(
                .conflict,
                "module '\(module)' has its lobby on core \(shard.map.home(ofModule: module)), not on this one (\(shard)); edges and cores disagree on the cluster's size"
            )
        }
        return try await sessions.join(user: user, module: module, leaving: leaving, canStart: canStartSession)
    }

    /// Whether a new session could get its workspace now: the lobby forms groups only then. An
    /// input the runtime hands the session manager, which knows nothing of workspaces.
    var canStartSession: Bool { workspaces?.hasStartCapacity ?? true }

    /// One pass of the lobby and session timers now (the ticker runs them every tick interval).
    public func tick() async throws { try await sessions.tick(canStart: canStartSession) }

    public func leaveLobby(user: String) async throws -> Bool { try await sessions.leave(user: user) }

    public func leave(user: String, session: String) async throws -> SessionManager.Departure {
        try await sessions.leaveSession(user: user, session: session)
    }

    public func chat(_ text: String, clientID: String, session id: String, by user: String) async throws -> Event {
        // An ended session is a record: its room can be read, not written to.
        guard let phase = await sessions.session(id)?.phase else { throw RuntimeError(.notFound, "no session '\(id)'") }
        if phase.isOver {
            throw RuntimeError(.conflict, "this session has ended (\(phase.rawValue)); its chat can be read but not added to")
        }
        return try await store.events.append(
            EventDraft(
                time: configuration.clock.now, type: .chatMessage, actor: user, session: id,
                payload: ChatPayload(text: text, clientId: clientID)
            )
        )
    }

    public func rotate(session: String, by actor: String) async throws -> Bool { try await sessions.rotate(session: session, by: actor) }

    public func hint(_ raw: String, to target: HintTarget, by actor: String) async throws -> Int {
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...Self.maxHintLength).contains(text.count) else { throw RuntimeError(.invalid, "a hint needs 1 to \(Self.maxHintLength) characters") }
        let targets: [String]
        switch target {
        case .session(let id): targets = [try await live(id, "no hint can reach the team").id]
        case .allLive(let module): targets = await sessions.liveSessions().filter { module == nil || $0.module == module }.map(\.id)
        }
        let now = configuration.clock.now
        _ = try await store.events.append(
            contentsOf: targets.map { EventDraft(time: now, type: .instructorHint, actor: actor, session: $0, payload: HintPayload(text: text)) }
        )
        return targets.count
    }

    public func end(session: String, by actor: String) async throws -> Bool { try await sessions.complete(session: session, by: actor) }

    public func runTests(task: String, session id: String, by actor: String) async throws -> TaskTestService.Outcome {
        guard let workspaces, let tests else {
            throw RuntimeError(.conflict, "this server runs without workspaces (--workspaces none), so there are no files to test")
        }
        let session = try await live(id, "its tests can no longer be run")
        guard let module = await sessions.module(ofSession: session.id) else {
            throw RuntimeError(.conflict, "module '\(session.module)' is no longer on offer")
        }
        guard let files = await workspaces.files(of: session.id) else { throw RuntimeError(.conflict, TaskTestService.Failure.noFiles.description) }
        do {
            return try await tests.run(
                task: task, module: module, session: session.id, directory: files.directory, environment: files.environment, by: actor
            )
        } catch let failure as TaskTestService.Failure {
            switch failure {
            case .unknownTask, .noTests: throw RuntimeError(.invalid, failure.description)
            case .alreadyRunning, .noFiles: throw RuntimeError(.conflict, failure.description)
            case .unavailable: throw RuntimeError(.busy(retryAfterSeconds: 10), failure.description)
            }
        }
    }

    public func restartWorkspace(session id: String, by actor: String) async throws {
        guard let workspaces else { throw RuntimeError(.conflict, "this server runs without workspaces (--workspaces none)") }
        let session = try await live(id, "its workspace is closed for good")
        do {
            try await workspaces.restart(session: session.id)
        } catch let busy as WorkspaceService.Busy {
            throw RuntimeError(busy)
        }
    }

    public func syncModules(by actor: String) async throws -> ModuleSync {
        await catalog.sync()
        let sync = ModuleSync(modules: await catalog.modules, problems: await catalog.errors, repositories: await catalog.repositoryOutcomes)
        await sessions.update(modules: sync.modules)
        let payload = ModulesSyncedPayload(
            modules: sync.modules.map(\.id), problems: sync.problems.count,
            repositories: sync.repositories.map { .init(name: $0.repository.name, commit: $0.commit) }
        )
        _ = try await store.events.append(EventDraft(time: configuration.clock.now, type: .modulesSynced, actor: actor, payload: payload))
        return sync
    }

    public func uploadGroups(csv: String, module: String, by actor: String) async throws -> [String: [String]] {
        let roster: GroupRoster
        do {
            roster = try GroupRoster(csv: csv, file: "groups.csv")
        } catch {
            throw RuntimeError(.invalid, "\(error)")
        }
        var unknown: [String] = []
        for user in roster.groups.values.flatMap({ $0 }) where try await store.users.find(user) == nil { unknown.append(user) }
        guard unknown.isEmpty else { throw RuntimeError(.invalid, "no such users: \(unknown.sorted().joined(separator: ", "))") }
        do {
            try await sessions.uploadGroups(module: module, groups: roster.groups, by: actor)
        } catch is SessionManager.JoinError {
            throw RuntimeError(.notFound, "no module '\(module)'")
        }
        return roster.groups
    }

    public func subscribe(_ deliver: @escaping @Sendable ([Event]) -> Void) async -> RuntimeSubscription {
        let events = store.events
        let id = await events.subscribe(deliver)
        return RuntimeSubscription { await events.unsubscribe(id) }
    }

    // In process the subscription already sees every event and the room's own sockets are all
    // here: rooms need no opening and typing goes nowhere else.
    public func openRoom(_ session: String) async throws {}
    public func closeRoom(_ session: String) async {}
    public func typing(_ note: TypingNote) async {}
    public func followTyping(_ deliver: @escaping @Sendable (TypingNote) -> Void) async -> RuntimeSubscription { .none }

    public func history(session: String, after: Int64?, page: ([Event]) async throws -> Void) async throws {
        try await store.reader.forEach(EventFilter(afterID: after, session: session), page)
    }

    public func export(_ filter: EventFilter, page: ([Event]) async throws -> Void) async throws {
        try await store.reader.forEach(filter, page)
    }

    public func events(_ filter: EventFilter, limit: Int) async throws -> [Event] {
        try await store.reader.events(filter, limit: limit)
    }

    /// The session, if it exists and has not ended; `consequence` says what its end rules out.
    private func live(_ id: String, _ consequence: String) async throws -> SessionStateMachine {
        guard let session = await sessions.session(id) else { throw RuntimeError(.notFound, "no session '\(id)'") }
        guard !session.phase.isOver else { throw RuntimeError.over(session, consequence) }
        return session
    }
}

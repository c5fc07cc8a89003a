import OPECore
import OPEModules
import OPEStore

/// The in-process runtime answers from its parts.
extension Runtime {
    public func connected(user: String, session: String) async throws { try await sessions.connected(user: user, session: session) }

    public func disconnected(user: String, session: String) async throws { try await sessions.disconnected(user: user, session: session) }

    public func setMatching(module: String, open: Bool?, mode: MatchingPolicy.Mode?, by actor: String) async throws -> MatchingPolicy {
        try await sessions.setMatching(module: module, open: open, mode: mode, by: actor)
    }

    public func session(_ id: String) async -> SessionStateMachine? { await sessions.session(id) }

    public func currentSession(of user: String) async -> SessionStateMachine? { await sessions.currentSession(of: user) }

    public func liveSessions() async -> [SessionStateMachine] { await sessions.liveSessions() }

    public func committedStatus(of user: String) async -> SessionManager.Status { await sessions.committedStatus(of: user) }

    public func lateJoinTimeLeft(session: String) async -> Duration? { await sessions.lateJoinTimeLeft(session: session) }

    public func queueSnapshot() async -> [String: [LobbyStateMachine.Entry]] { await sessions.queueSnapshot() }

    public func matching(of module: String) async -> MatchingPolicy? { await sessions.matching(of: module) }

    public func groups(of module: String) async -> [String: [String]]? { await sessions.groups(of: module) }

    public func modules() async -> [Module] { await catalog.modules }

    public func module(id: String) async -> Module? { await catalog.module(id: id) }

    public func moduleProblems() async -> [ModuleError] { await catalog.errors }

    public func workspaceState(of session: String) async -> WorkspaceService.State? { await workspaces?.state(of: session) }

    /// A live team's activity now, read from the log.
    public func activity(of session: SessionStateMachine) async throws -> TeamActivity {
        let reader = store.reader
        var activity = TeamActivity(
            session: session, module: await sessions.module(ofSession: session.id),
            chatAndTests: try await reader.latest(EventFilter(session: session.id, types: [.chatMessage, .testResult]), limit: 50),
            lastEdit: try await reader.latest(EventFilter(session: session.id, types: [.workspaceEdited])).first,
            taskEvents: try await reader.latest(EventFilter(session: session.id, types: [.botCommand, .testResult]), limit: 20),
            now: configuration.clock.now
        )
        activity.contributions = try await contributions.figures(of: session.id, now: configuration.clock.now)
        return activity
    }
}

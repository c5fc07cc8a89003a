import Foundation
import OPECore
import OPEModules
import OPEStore

/// The platform as commands, queries and subscriptions: the one API every front door uses (the HTTP
/// gateway's controllers and team rooms today; a gRPC edge talking to a remote runtime later,
/// behind this same protocol, without changing its callers).
///
/// Commands check what the platform's rules say (an ended session takes no chat, hint or test
/// run) and throw ``RuntimeError``; the caller has already checked who is asking.
public protocol RuntimeAPI: Sendable {
    // MARK: Lobby

    /// Puts `user` in `module`'s lobby (or its fixed group); `leaving` is a session they give up for it.
    func join(user: String, module: String, leaving: String?) async throws -> SessionManager.Status
    /// Takes `user` out of the lobby they wait in; false if they were not waiting.
    func leaveLobby(user: String) async throws -> Bool

    // MARK: A team's session

    /// `user` leaves their session for good.
    func leave(user: String, session: String) async throws -> SessionManager.Departure
    /// A member's chat message; returns the committed event (its id acknowledges the message).
    func chat(_ text: String, clientID: String, session: String, by user: String) async throws -> Event
    /// Rotates the team's roles now; false if the session does not exist or is over.
    func rotate(session: String, by actor: String) async throws -> Bool
    /// An instructor's hint, shown in the chat of each target team; returns how many teams got it.
    func hint(_ text: String, to target: HintTarget, by actor: String) async throws -> Int
    /// Ends a session as completed; false if it does not exist or had already ended.
    func end(session: String, by actor: String) async throws -> Bool
    /// Runs a task's tests on the team's files and records the result.
    func runTests(task: String, session: String, by actor: String) async throws -> TaskTestService.Outcome
    /// Starts the team's workspace again.
    func restartWorkspace(session: String, by actor: String) async throws

    /// Marks `user` connected to their session's room (their first open socket) or gone (their last closed).
    func connected(user: String, session: String) async throws
    func disconnected(user: String, session: String) async throws
    /// An instructor opens or closes a module's lobby, or switches its matching mode.
    func setMatching(module: String, open: Bool?, mode: MatchingPolicy.Mode?, by actor: String) async throws -> MatchingPolicy

    // MARK: Queries

    // Queries throw too: in a cluster the answer comes from another process, and "that core
    // cannot be reached now" must not read as "there is no such session".

    func session(_ id: String) async throws -> SessionStateMachine?
    /// The live session `user` is a member of.
    func currentSession(of user: String) async throws -> SessionStateMachine?
    /// Sessions not yet over, oldest first.
    func liveSessions() async throws -> [SessionStateMachine]
    /// Where `user` stands, once every change behind the answer is durable.
    func committedStatus(of user: String) async throws -> SessionManager.Status
    /// How long latecomers may still join the session, if it takes them.
    func lateJoinTimeLeft(session: String) async throws -> Duration?
    /// Every module's lobby queue.
    func queueSnapshot() async throws -> [String: [LobbyStateMachine.Entry]]
    /// A module's matching rules in force (an instructor may have changed the YAML's).
    func matching(of module: String) async throws -> MatchingPolicy?
    /// A module's fixed groups (group name → usernames), if it has any.
    func groups(of module: String) async throws -> [String: [String]]?
    /// The modules on offer.
    func modules() async throws -> [Module]
    func module(id: String) async throws -> Module?
    /// Modules that could not be loaded, with file, line and field.
    func moduleProblems() async throws -> [ModuleError]
    /// Where a session's workspace stands; nil if it never had one (or there are no workspaces).
    func workspaceState(of session: String) async throws -> WorkspaceService.State?
    /// How a team is doing (the instructors' dashboard).
    func activity(of session: SessionStateMachine) async throws -> TeamActivity

    // MARK: Modules

    /// Fixed groups for a module from a `username,group` CSV (every user must exist); the module
    /// switches to static mode. Returns group name → usernames.
    func uploadGroups(csv: String, module: String, by actor: String) async throws -> [String: [String]]

    /// Fetches the module repositories again and reloads every module; sessions get the new
    /// versions, and the sync is recorded.
    func syncModules(by actor: String) async throws -> ModuleSync

    // MARK: Subscriptions

    /// Committed batches of events, in log order, until `cancel` is called on the result; the team
    /// rooms fan them out to their members. In process: every event. Across the wire (an edge):
    /// the events of the rooms this process has open (``openRoom(_:)``).
    func subscribe(_ deliver: @escaping @Sendable ([Event]) -> Void) async -> RuntimeSubscription
    /// This process has a socket on `session`'s room: once this returns, every event the session
    /// commits reaches ``subscribe(_:)``. Counted: each call is matched by one ``closeRoom(_:)``.
    func openRoom(_ session: String) async throws
    /// A socket on `session`'s room closed (see ``openRoom(_:)``).
    func closeRoom(_ session: String) async
    /// A member is typing (or stopped) in `session`'s room: sockets on other processes hear it
    /// through ``followTyping(_:)`` (this process's own sockets hear it from the room itself).
    func typing(_ note: TypingNote) async
    /// Other processes' members typing in the rooms this process has open.
    func followTyping(_ deliver: @escaping @Sendable (TypingNote) -> Void) async -> RuntimeSubscription
    /// A session's events after `after` (a room's history, or what a reconnecting page missed), in pages.
    func history(session: String, after: Int64?, page: ([Event]) async throws -> Void) async throws
    /// The research record: events matching `filter`, in log order, page by page.
    func export(_ filter: EventFilter, page: ([Event]) async throws -> Void) async throws
    /// Up to `limit` events matching `filter`, in log order: one page of the record, for a look.
    func events(_ filter: EventFilter, limit: Int) async throws -> [Event]
    /// The research record as a download: events matching `filter` as `format`'s text. Throws
    /// here, before anything is sent, when the filter cannot be served.
    func recordExport(_ filter: EventFilter, format: EventExporter.Format) throws -> RecordExport
}

/// A download of the research record, checked and ready to run.
public struct RecordExport: Sendable {
    let body: @Sendable ((String) async throws -> Void) async throws -> Void

    public init(_ body: @escaping @Sendable ((String) async throws -> Void) async throws -> Void) { self.body = body }

    /// Writes the record, text chunk by text chunk.
    public func run(write: (String) async throws -> Void) async throws { try await body(write) }
}

extension RuntimeAPI {
    /// One log's record: the header, then a chunk per page.
    public func recordExport(_ filter: EventFilter, format: EventExporter.Format) throws -> RecordExport {
        RecordExport { write in
            let exporter = EventExporter(format: format)
            if let header = exporter.header { try await write(header) }
            try await export(filter) { page in try await write(try exporter.chunk(page)) }
        }
    }
}

/// What a module sync found.
public struct ModuleSync: Sendable, Codable {
    public var modules: [Module]
    /// Modules that could not be loaded, with file, line and field.
    public var problems: [ModuleError]
    public var repositories: [RepositorySyncService.Outcome]
}

/// Which teams an instructor's hint goes to.
public enum HintTarget: Sendable, Hashable {
    case session(String)
    /// Every live team, or every live team of one module.
    case allLive(module: String?)
}

/// A member typing in a team room, or stopping: passed on to the room's members, never recorded.
public struct TypingNote: Sendable, Hashable {
    public var session: String
    public var user: String
    public var active: Bool

    public init(session: String, user: String, active: Bool) {
        self.session = session
        self.user = user
        self.active = active
    }
}

/// A subscription to the runtime's events; ends when cancelled.
public struct RuntimeSubscription: Sendable {
    let end: @Sendable () async -> Void

    public init(end: @escaping @Sendable () async -> Void) { self.end = end }

    /// A subscription with nothing to end.
    public static let none = RuntimeSubscription {}

    public func cancel() async { await end() }
}

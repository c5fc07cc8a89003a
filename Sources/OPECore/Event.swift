import Foundation

/// One entry of the durable event log: every state change in OPE is one of these.
///
/// The live state (lobby, sessions, rooms) is a projection of the log, so an event carries
/// everything needed to rebuild it: who did it (`actor`), in which session, and a typed payload.
public struct Event: Sendable, Hashable, Codable {
    /// Position in the log; strictly increasing, assigned when the event is committed.
    public var id: Int64
    public var time: Date
    public var type: EventType
    /// Username (or `bot`, `system`) that caused the change.
    public var actor: String?
    /// Session the event belongs to, if any.
    public var session: String?
    /// The payload as the log stores it, a JSON object; read it as its type with ``decode(_:)``.
    public var payload: [String: JSONValue]

    public init(id: Int64, time: Date, type: EventType, actor: String?, session: String?, payload: [String: JSONValue]) {
        self.id = id
        self.time = time
        self.type = type
        self.actor = actor
        self.session = session
        self.payload = payload
    }
}

/// An event before it is committed: it has no id yet.
public struct EventDraft: Sendable, Hashable {
    public var time: Date
    public var type: EventType
    public var actor: String?
    public var session: String?
    /// The payload as the log will store it; writers build it from an ``EventPayload``.
    public var payload: [String: JSONValue]

    public init(time: Date = Date(), type: EventType, actor: String? = nil, session: String? = nil, payload: [String: JSONValue] = [:]) {
        self.time = time
        self.type = type
        self.actor = actor
        self.session = session
        self.payload = payload
    }

    /// The committed event with its log position.
    public func committed(id: Int64) -> Event {
        Event(id: id, time: time, type: type, actor: actor, session: session, payload: payload)
    }
}

/// The kind of an event, a dotted lowercase name such as `user.signed_in`.
public struct EventType: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
    public var description: String { rawValue }

    public static let userCreated: EventType = "user.created"
    public static let userSignedIn: EventType = "user.signed_in"
    public static let userSignedOut: EventType = "user.signed_out"
    public static let userSignInFailed: EventType = "user.sign_in_failed"
    public static let tokenCreated: EventType = "token.created"
    /// An API token was revoked (by its owner, an admin, or with sign-out everywhere); ``TokenRevokedPayload``.
    public static let tokenRevoked: EventType = "token.revoked"
    /// An admin changed an account's role or display name; ``UserPayload`` with the new values.
    public static let userUpdated: EventType = "user.updated"
    public static let userDisabled: EventType = "user.disabled"
    public static let userEnabled: EventType = "user.enabled"
    /// An admin set a new password; the account's sign-ins ended with it.
    public static let userPasswordReset: EventType = "user.password_reset"
    public static let lobbyJoined: EventType = "lobby.joined"
    public static let lobbyLeft: EventType = "lobby.left"
    public static let lobbyGaveUp: EventType = "lobby.gave_up"
    public static let moduleMatchingChanged: EventType = "module.matching_changed"
    public static let moduleGroupsUploaded: EventType = "module.groups_uploaded"
    public static let sessionMemberJoined: EventType = "session.member_joined"
    /// A member left their session for good (their own choice); ``MemberLeftPayload``.
    public static let sessionMemberLeft: EventType = "session.member_left"
    public static let presenceJoined: EventType = "presence.joined"
    public static let presenceLeft: EventType = "presence.left"
    public static let sessionFormed: EventType = "session.formed"
    public static let sessionPhaseChanged: EventType = "session.phase_changed"
    public static let roleChanged: EventType = "role.changed"
    public static let chatMessage: EventType = "chat.message"
    public static let botMessage: EventType = "bot.message"
    /// Plan progress: launch, stage and step starts, the end of the plan.
    public static let botStep: EventType = "bot.step"
    /// A command for the team's page (e.g. switch to the next task).
    public static let botCommand: EventType = "bot.command"
    public static let botRun: EventType = "bot.run"
    public static let botExternal: EventType = "bot.external"
    public static let botLog: EventType = "bot.log"
    public static let botChatLog: EventType = "bot.chatlog"
    /// The bot declared the activity over; the session completes when the bot leaves.
    public static let botEnd: EventType = "bot.end"
    public static let botStopped: EventType = "bot.stopped"
    /// Something in the plan could not be done as written, or the bot failed; the session goes on.
    public static let botWarning: EventType = "bot.warning"
    public static let experimentAssigned: EventType = "experiment.assigned"
    /// An instructor's hint to a team, shown in their chat.
    public static let instructorHint: EventType = "instructor.hint"
    /// The external bot's endpoint stopped answering (breaker opened) or answers again.
    public static let externalBotUnavailable: EventType = "external_bot.unavailable"
    public static let externalBotRecovered: EventType = "external_bot.recovered"
    /// An event the external bot refused or answered with garbage every time; given up on, recorded here.
    public static let externalBotGaveUp: EventType = "external_bot.gave_up"
    public static let testResult: EventType = "test.result"
    public static let workspaceStarted: EventType = "workspace.started"
    public static let workspaceStopped: EventType = "workspace.stopped"
    public static let workspaceCrashed: EventType = "workspace.crashed"
    public static let workspaceFailed: EventType = "workspace.failed"
    /// The workspace hit a limit (memory, processes, disk); ``WorkspaceLimitPayload``.
    public static let workspaceLimit: EventType = "workspace.limit"
    /// Members edited documents in the workspace (coalesced: at most one per member and minute);
    /// ``EditedPayload``, the document updates since that member's previous such event.
    public static let workspaceEdited: EventType = "workspace.edited"
    /// A member ran code in a kernel; ``ExecutedPayload``.
    public static let workspaceExecuted: EventType = "workspace.executed"
    /// A member started, restarted, interrupted or shut down a kernel; ``KernelActionPayload``.
    public static let workspaceKernel: EventType = "workspace.kernel"
    /// A member created, renamed, deleted or uploaded a file; ``FileActionPayload``.
    public static let workspaceFile: EventType = "workspace.file"
    /// A member opened or typed into a terminal; ``TerminalPayload``.
    public static let workspaceTerminal: EventType = "workspace.terminal"
    /// Enforced roles kept a member's edit or run out; ``RefusedPayload``.
    public static let workspaceRefused: EventType = "workspace.refused"
    /// A notebook's content at a moment, for the replay; ``SnapshotPayload``.
    public static let workspaceSnapshot: EventType = "workspace.snapshot"
    public static let modulesSynced: EventType = "modules.synced"
}

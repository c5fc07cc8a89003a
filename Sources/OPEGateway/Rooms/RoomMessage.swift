import Foundation
import OPECore
import OPEStore

/// A message the server sends over a team room WebSocket (see `docs/protocol.md`).
///
/// Every message is one JSON object with a `type`; those that come from the event log carry the
/// event's `id`, which a client passes back as `?after=` when it reconnects, and its `time`.
enum RoomMessage: Sendable, Hashable {
    /// The event a message shows: its log position and when it happened.
    struct Stamp: Sendable, Hashable {
        var id: Int64
        var time: Date

        init(_ event: Event) {
            id = event.id
            time = event.time
        }
    }

    /// A member's first connection opened, or their last one closed.
    enum Presence: String, Sendable, Hashable, Encodable {
        case join, leave
    }

    /// The first message: the room as it is now.
    case welcome(session: String, user: String, members: [String], roles: [String: String], phase: SessionStateMachine.Phase)
    /// The history is complete: everything after this is live. `lastID` is the last event sent.
    case synced(lastID: Int64)
    /// The sender's chat message is durable as event `id`.
    case ack(id: Int64, clientId: String)
    case chat(Stamp, from: String?, text: String, clientId: String?)
    /// `html` is `text` as Markdown, with the same allow-list as module text.
    case bot(Stamp, from: String, text: String, html: String)
    case hint(Stamp, from: String?, text: String)
    /// A command for the page from a bot (e.g. show the next task).
    case command(Stamp, from: String?, text: String)
    case roles(Stamp, roles: [String: String], reason: String?)
    case phase(Stamp, SessionStateMachine.Phase)
    case formed(Stamp, members: [String], roles: [String: String]?)
    /// Someone joined the running session.
    case member(Stamp, user: String, role: String?)
    /// Someone left for good; `members` is who is left.
    case left(Stamp, user: String, members: [String]?)
    case presence(Stamp, user: String?, state: Presence)
    /// A task's test run; `output` goes out as `text`.
    case test(Stamp, task: String, passed: Bool, output: String?, cases: [TestReport.Case]?)
    /// `state` is what happened (`started`, `stopped`, `crashed`, `failed`, `limit`); `message` the
    /// path to load when it started, `reason` the words for the team otherwise.
    case workspace(Stamp, state: String, message: String?, reason: String?)
    /// Any other event of the session, whole.
    case event(Event)
    /// Someone is typing (not an event).
    case typing(user: String, active: Bool)
    case heartbeat(time: Date)
    /// The client's last frame was refused; nothing else changed.
    case error(code: String, message: String, retryAfterMs: Int? = nil)
    /// The credential the socket was opened with ended; the socket closes next.
    case signedOut(message: String)

    /// The message that shows a committed session event to the room. An event with a message of
    /// its own whose payload does not read (not written by OPE) goes out whole, as `event`.
    init(_ event: Event) {
        self = Self.own(event) ?? .event(event)
    }

    private static func own(_ event: Event) -> RoomMessage? {
        let stamp = Stamp(event)
        /// What the page shows for the workspace: the part of the event type after `workspace.`.
        func workspace(message: String? = nil, reason: String?) -> RoomMessage {
            .workspace(stamp, state: String(event.type.rawValue.dropFirst("workspace.".count)), message: message, reason: reason)
        }
        switch event.type {
        case .chatMessage:
            return event.decode(ChatPayload.self).map { .chat(stamp, from: event.actor, text: $0.text, clientId: $0.clientId) }
        case .botMessage:
            // Plans write Markdown (*task*, **Run tests**, `code`); rendered once per event here.
            return event.decode(BotMessagePayload.self).map {
                .bot(stamp, from: $0.name ?? event.actor ?? "bot", text: $0.text, html: MarkdownRenderer().html($0.text))
            }
        case .instructorHint:
            return event.decode(HintPayload.self).map { .hint(stamp, from: event.actor, text: $0.text) }
        case .botCommand:
            return event.decode(BotCommandPayload.self).map { .command(stamp, from: event.actor, text: $0.command) }
        case .roleChanged:
            return event.decode(RolesPayload.self).map { .roles(stamp, roles: $0.roles, reason: $0.reason) }
        case .sessionPhaseChanged:
            return event.decode(PhaseChangedPayload.self).map { .phase(stamp, $0.phase) }
        case .sessionFormed:
            return event.decode(SessionFormedPayload.self).map { .formed(stamp, members: $0.members, roles: $0.roles) }
        case .sessionMemberJoined:
            return event.decode(MemberJoinedPayload.self).map { .member(stamp, user: $0.user, role: $0.role) }
        case .sessionMemberLeft:
            return event.decode(MemberLeftPayload.self).map { .left(stamp, user: $0.user, members: $0.remaining) }
        case .presenceJoined:
            return .presence(stamp, user: event.actor, state: .join)
        case .presenceLeft:
            return .presence(stamp, user: event.actor, state: .leave)
        case .testResult:
            return event.decode(TestResultPayload.self).map { .test(stamp, task: $0.task, passed: $0.passed, output: $0.output, cases: $0.cases) }
        case .workspaceStarted:
            return event.decode(WorkspaceStartedPayload.self).map { workspace(message: $0.path, reason: nil) }
        case .workspaceStopped:
            return event.decode(WorkspaceStoppedPayload.self).map { workspace(reason: $0.reason) }
        case .workspaceCrashed:
            return event.decode(WorkspaceCrashedPayload.self).map { workspace(reason: $0.log) }
        case .workspaceFailed:
            return event.decode(WorkspaceFailedPayload.self).map { workspace(reason: $0.error) }
        case .workspaceLimit:
            return event.decode(WorkspaceLimitPayload.self).map { workspace(reason: $0.message) }
        default:
            return nil
        }
    }

    /// The message as JSON text (keys sorted), through ``JSONValueEncoder`` rather than
    /// JSONEncoder: every chat message is encoded once per event on the fan-out path, where
    /// Foundation's encoder cost more than the rest of the delivery.
    func json() -> String {
        // Strings, numbers, flags and JSON values only: encoding cannot fail.
        try! JSONValueEncoder().encode(self).jsonText
    }
}

extension RoomMessage: Encodable {
    /// The `type` the pages switch on.
    var type: String {
        switch self {
        case .welcome: "welcome"
        case .synced: "synced"
        case .ack: "ack"
        case .chat: "chat"
        case .bot: "bot"
        case .hint: "hint"
        case .command: "command"
        case .roles: "roles"
        case .phase: "phase"
        case .formed: "formed"
        case .member: "member"
        case .left: "left"
        case .presence: "presence"
        case .test: "test"
        case .workspace: "workspace"
        case .event: "event"
        case .typing: "typing"
        case .heartbeat: "heartbeat"
        case .error: "error"
        case .signedOut: "signed_out"
        }
    }

    private enum CodingKeys: String, CodingKey {
        case type, id, time, session, user, members, roles, phase, clientId, from, text, html, reason, role, state, task, passed, cases, message
        case event, active, code, retryAfterMs
    }

    func encode(to encoder: any Encoder) throws {
        var out = encoder.container(keyedBy: CodingKeys.self)
        try out.encode(type, forKey: .type)
        func stamp(_ stamp: Stamp) throws {
            try out.encode(stamp.id, forKey: .id)
            try out.encode(EventExporter.timestamp(stamp.time), forKey: .time)
        }
        switch self {
        case .welcome(let session, let user, let members, let roles, let phase):
            try out.encode(session, forKey: .session)
            try out.encode(user, forKey: .user)
            try out.encode(members, forKey: .members)
            try out.encode(roles, forKey: .roles)
            try out.encode(phase, forKey: .phase)
        case .synced(let lastID):
            try out.encode(lastID, forKey: .id)
        case .ack(let id, let clientId):
            try out.encode(id, forKey: .id)
            try out.encode(clientId, forKey: .clientId)
        case .chat(let at, let from, let text, let clientId):
            try stamp(at)
            try out.encodeIfPresent(from, forKey: .from)
            try out.encode(text, forKey: .text)
            try out.encodeIfPresent(clientId, forKey: .clientId)
        case .bot(let at, let from, let text, let html):
            try stamp(at)
            try out.encode(from, forKey: .from)
            try out.encode(text, forKey: .text)
            try out.encode(html, forKey: .html)
        case .hint(let at, let from, let text), .command(let at, let from, let text):
            try stamp(at)
            try out.encodeIfPresent(from, forKey: .from)
            try out.encode(text, forKey: .text)
        case .roles(let at, let roles, let reason):
            try stamp(at)
            try out.encode(roles, forKey: .roles)
            try out.encodeIfPresent(reason, forKey: .reason)
        case .phase(let at, let phase):
            try stamp(at)
            try out.encode(phase, forKey: .phase)
        case .formed(let at, let members, let roles):
            try stamp(at)
            try out.encode(members, forKey: .members)
            try out.encodeIfPresent(roles, forKey: .roles)
        case .member(let at, let user, let role):
            try stamp(at)
            try out.encode(user, forKey: .user)
            try out.encodeIfPresent(role, forKey: .role)
        case .left(let at, let user, let members):
            try stamp(at)
            try out.encode(user, forKey: .user)
            try out.encodeIfPresent(members, forKey: .members)
        case .presence(let at, let user, let state):
            try stamp(at)
            try out.encodeIfPresent(user, forKey: .user)
            try out.encode(state, forKey: .state)
        case .test(let at, let task, let passed, let output, let cases):
            try stamp(at)
            try out.encode(task, forKey: .task)
            try out.encode(passed, forKey: .passed)
            try out.encodeIfPresent(output, forKey: .text)
            try out.encodeIfPresent(cases, forKey: .cases)
        case .workspace(let at, let state, let message, let reason):
            try stamp(at)
            try out.encode(state, forKey: .state)
            try out.encodeIfPresent(message, forKey: .message)
            try out.encodeIfPresent(reason, forKey: .reason)
        case .event(let event):
            try stamp(Stamp(event))
            // The shape of an exported event, as researchers get it.
            try out.encode(ExportedEvent(event), forKey: .event)
        case .typing(let user, let active):
            try out.encode(user, forKey: .user)
            try out.encode(active, forKey: .active)
        case .heartbeat(let time):
            try out.encode(EventExporter.timestamp(time), forKey: .time)
        case .error(let code, let message, let retryAfterMs):
            try out.encode(code, forKey: .code)
            try out.encode(message, forKey: .message)
            try out.encodeIfPresent(retryAfterMs, forKey: .retryAfterMs)
        case .signedOut(let message):
            try out.encode(message, forKey: .message)
        }
    }
}

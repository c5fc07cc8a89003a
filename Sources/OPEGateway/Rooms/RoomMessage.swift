import Foundation
import OPECore
import OPEStore

/// A message the server sends over a team room WebSocket (see `docs/protocol.md`).
///
/// Every message is one JSON object with a `type`; those that come from the event log carry the
/// event's `id`, which a client passes back as `?after=` when it reconnects.
struct RoomMessage: Sendable {
    var type: String
    var id: Int64?
    var time: String?
    var from: String?
    var user: String?
    var text: String?
    /// A bot message's Markdown as HTML, with the same allow-list as module text.
    var html: String?
    var clientId: String?
    var state: String?
    var active: Bool?
    var roles: [String: String]?
    var role: String?
    var reason: String?
    var phase: String?
    var members: [String]?
    var session: String?
    var code: String?
    var message: String?
    var passed: Bool?
    var task: String?
    /// A test run's outcomes, as the event holds them (`[{name, outcome, message}]`).
    var cases: JSONValue?
    var event: Event?
    var retryAfterMs: Int?

    init(type: String) { self.type = type }

    /// The message that shows a committed session event to the room.
    init(_ event: Event) {
        type = "event"
        id = event.id
        time = EventExporter.timestamp(event.time)
        switch event.type {
        case .chatMessage:
            let chat = event.decode(ChatPayload.self)
            type = "chat"
            from = event.actor
            text = chat?.text
            clientId = chat?.clientId
        case .botMessage:
            let said = event.decode(BotMessagePayload.self)
            type = "bot"
            from = said?.name ?? event.actor ?? "bot"
            text = said?.text
            // Plans write Markdown (*task*, **Run tests**, `code`); rendered once per event here.
            html = text.map(MarkdownRenderer().html)
        case .instructorHint:
            let hint = event.decode(HintPayload.self)
            type = "hint"
            from = event.actor
            text = hint?.text
        case .botCommand:
            let command = event.decode(BotCommandPayload.self)
            // The page acts on it (e.g. shows the next task).
            type = "command"
            from = event.actor
            text = command?.command
        case .roleChanged:
            let change = event.decode(RolesPayload.self)
            type = "roles"
            roles = change?.roles
            reason = change?.reason
        case .sessionPhaseChanged:
            let change = event.decode(PhaseChangedPayload.self)
            type = "phase"
            phase = change?.phase.rawValue
        case .sessionFormed:
            let team = event.decode(SessionFormedPayload.self)
            type = "formed"
            members = team?.members
            roles = team?.roles
        case .sessionMemberJoined:
            let joined = event.decode(MemberJoinedPayload.self)
            type = "member"
            user = joined?.user
            role = joined?.role
        case .sessionMemberLeft:
            let left = event.decode(MemberLeftPayload.self)
            // The page says so and takes them off the team list; `members` is who is left.
            type = "left"
            user = left?.user
            members = left?.remaining
        case .presenceJoined, .presenceLeft:
            type = "presence"
            user = event.actor
            state = event.type == .presenceJoined ? "join" : "leave"
        case .testResult:
            let run = event.decode(TestResultPayload.self)
            type = "test"
            task = run?.task
            passed = run?.passed
            text = run?.output
            cases = (run?.cases).map { TestReport(cases: $0).json }
        case .workspaceStarted, .workspaceStopped, .workspaceCrashed, .workspaceFailed, .workspaceLimit:
            // The page swaps or reloads the workspace frame and tells the team in words.
            type = "workspace"
            state = String(event.type.rawValue.dropFirst("workspace.".count))
            message = event.decode(WorkspaceStartedPayload.self)?.path
            reason =
                event.decode(WorkspaceStoppedPayload.self)?.reason ?? event.decode(WorkspaceFailedPayload.self)?.error
                ?? event.decode(WorkspaceCrashedPayload.self)?.log ?? event.decode(WorkspaceLimitPayload.self)?.message
        default:
            self.event = event
        }
    }

    static func error(_ code: String, _ message: String) -> RoomMessage {
        var value = RoomMessage(type: "error")
        value.code = code
        value.message = message
        return value
    }

    /// The message as JSON text. Built with ``JSONValue`` rather than JSONEncoder: every chat
    /// message is encoded once per event on the fan-out path, where Foundation's encoder cost
    /// more than the rest of the delivery.
    func json() -> String {
        var object: [String: JSONValue] = ["type": .string(type)]
        func put(_ key: String, _ value: String?) { if let value { object[key] = .string(value) } }
        if let id { object["id"] = .number(Double(id)) }
        put("time", time)
        put("from", from)
        put("user", user)
        put("text", text)
        put("html", html)
        put("clientId", clientId)
        put("state", state)
        put("role", role)
        put("reason", reason)
        put("phase", phase)
        put("session", session)
        put("code", code)
        put("message", message)
        put("task", task)
        if let active { object["active"] = .bool(active) }
        if let passed { object["passed"] = .bool(passed) }
        if let roles { object["roles"] = .object(roles.mapValues(JSONValue.string)) }
        if let members { object["members"] = .array(members.map(JSONValue.string)) }
        if let cases { object["cases"] = cases }
        if let retryAfterMs { object["retryAfterMs"] = .number(Double(retryAfterMs)) }
        if let event {
            var fields: [String: JSONValue] = [
                "id": .number(Double(event.id)), "time": .string(EventExporter.timestamp(event.time)), "type": .string(event.type.rawValue),
                "payload": .object(event.payload),
            ]
            if let actor = event.actor { fields["actor"] = .string(actor) }
            if let session = event.session { fields["session"] = .string(session) }
            object["event"] = .object(fields)
        }
        return JSONValue.jsonText(object: object)
    }
}

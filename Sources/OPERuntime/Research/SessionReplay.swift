import Foundation
import OPECore

/// One session's record arranged for the replay page (`/research/sessions/{id}`): every event
/// worth showing on one timeline, each with its kind, a one-line summary and its payload, and what
/// the team contributed. Built from the session's events alone (pure), so it reads the same from a
/// live log, an export or a test's list.
public struct SessionReplay: Codable, Sendable, Hashable {
    /// What an entry is, for the page's colours and its "next …" buttons.
    public enum Kind: String, Codable, Sendable, Hashable, CaseIterable {
        case chat, bot, hint, role, edit, execution, test, kernel, file, terminal, refused, snapshot, session, workspace, other
    }

    /// One event on the timeline.
    public struct Entry: Codable, Sendable, Hashable {
        public var id: Int64
        public var time: Date
        /// Milliseconds since the session's first event (the page's clock; `time` is to the second in JSON).
        public var offset: Int
        public var type: String
        public var kind: Kind
        public var actor: String?
        /// The actor's team role then, when the event says.
        public var role: String?
        /// One line in words: "alice ran a cell in text_stats.ipynb: error (NameError)".
        public var text: String
        /// The event's payload as the log holds it (code, output, cells, …).
        public var payload: [String: JSONValue]
    }

    public var session: String
    public var module: String?
    public var members: [String]
    /// The first and last event's time.
    public var start: Date?
    public var end: Date?
    /// The last event's offset in milliseconds: the length of the timeline.
    public var duration: Int
    public var entries: [Entry]
    /// The notebooks the record has snapshots of, in the order they first appear.
    public var documents: [String]
    public var contributions: Contributions
    /// With `?at=`: each notebook as of that moment.
    public var notebooks: [NotebookState]?

    /// Kinds of event left off the timeline: presence comes and goes with every page load, and the
    /// bot's own logs repeat what its messages and steps say.
    static let hidden: Set<EventType> = [.presenceJoined, .presenceLeft, .botLog, .botChatLog]

    public init(session: String, events: [Event], now: Date) {
        self.session = session
        // In time order (the log's order, unless two writers' clocks crossed).
        let shown = events.filter { !Self.hidden.contains($0.type) }.sorted { ($0.time, $0.id) < ($1.time, $1.id) }
        let formed = events.lazy.compactMap { $0.decode(SessionFormedPayload.self) }.first
        module = formed?.module
        var members = formed?.members ?? []
        for event in events {
            if let joined = event.decode(MemberJoinedPayload.self), !members.contains(joined.user) { members.append(joined.user) }
        }
        self.members = members
        start = events.map(\.time).min()
        end = events.map(\.time).max()
        let origin = start ?? now
        entries = shown.map { event in
            Entry(
                id: event.id, time: event.time, offset: max(0, Int((event.time.timeIntervalSince(origin) * 1000).rounded())), type: event.type.rawValue,
                kind: Self.kind(of: event.type), actor: event.actor, role: event.payload["role"]?.stringValue, text: Self.summary(of: event),
                payload: event.payload)
        }
        duration = entries.last?.offset ?? 0
        var documents: [String] = []
        for event in events {
            if let snapshot = event.decode(SnapshotPayload.self), !documents.contains(snapshot.document) { documents.append(snapshot.document) }
        }
        self.documents = documents
        var tally = ContributionTally(session: session)
        for event in events { tally.add(event) }
        contributions = tally.contributions(now: now)
    }

    static func kind(of type: EventType) -> Kind {
        switch type {
        case .chatMessage: .chat
        case .botMessage, .botCommand, .botStep, .botRun, .botEnd, .botStopped, .botWarning, .botExternal: .bot
        case .instructorHint: .hint
        case .roleChanged: .role
        case .workspaceEdited: .edit
        case .workspaceExecuted: .execution
        case .testResult: .test
        case .workspaceKernel: .kernel
        case .workspaceFile: .file
        case .workspaceTerminal: .terminal
        case .workspaceRefused: .refused
        case .workspaceSnapshot: .snapshot
        case .sessionFormed, .sessionPhaseChanged, .sessionMemberJoined, .sessionMemberLeft, .experimentAssigned: .session
        case .workspaceStarted, .workspaceStopped, .workspaceCrashed, .workspaceFailed, .workspaceLimit: .workspace
        default: .other
        }
    }

    /// The entry's line in words (plain text: the page escapes it).
    static func summary(of event: Event) -> String {
        let who = event.actor ?? "someone"
        if let chat = event.decode(ChatPayload.self) { return "\(who): \(chat.text)" }
        if let bot = event.decode(BotMessagePayload.self) {
            return (bot.name ?? "bot") + ": " + bot.text + (bot.prompt.map { " [prompt \($0)]" } ?? "")
        }
        if let hint = event.decode(HintPayload.self) { return "hint from \(who): \(hint.text)" }
        if let roles = event.decode(RolesPayload.self) {
            return "roles: " + roles.roles.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                + (roles.reason.map { " (\($0))" } ?? "")
        }
        if let edit = event.decode(EditedPayload.self) {
            let size = edit.bytes.map { ", \($0) bytes" } ?? ""
            return "\(who) edited \(edit.document ?? "a document"): \(edit.updates) update\(edit.updates == 1 ? "" : "s")\(size)"
        }
        if let run = event.decode(ExecutedPayload.self) {
            let outcome = run.outcome + (run.errorName.map { " (\($0))" } ?? "")
            return "\(who) ran a cell" + (run.document.map { " in \($0)" } ?? "") + ": \(outcome)"
        }
        if let test = event.decode(TestResultPayload.self) {
            return "\(who) ran the tests of \(test.task): " + (test.passed ? "passed" : test.timedOut == true ? "timed out" : "failed")
        }
        if let kernel = event.decode(KernelActionPayload.self) { return "\(who): kernel \(kernel.action)" }
        if let file = event.decode(FileActionPayload.self) {
            return "\(who) \(file.action) \(file.path)" + (file.newPath.map { " → \($0)" } ?? "")
        }
        if let terminal = event.decode(TerminalPayload.self) {
            return terminal.action == "opened"
                ? "\(who) opened terminal \(terminal.terminal)" : "\(who) typed in terminal \(terminal.terminal) (\(terminal.inputs ?? 0) inputs)"
        }
        if let refused = event.decode(RefusedPayload.self) {
            return "\(who)'s \(refused.what) refused ×\(refused.count): \(refused.reason)"
        }
        if let snapshot = event.decode(SnapshotPayload.self) {
            var text = "snapshot of \(snapshot.document) (\(snapshot.cells.count) cell\(snapshot.cells.count == 1 ? "" : "s"))"
            if let changed = snapshot.changed, !changed.isEmpty {
                text += ": \(changed.count) changed"
                if let editors = snapshot.editors, !editors.isEmpty { text += " by " + editors.joined(separator: ", ") }
            }
            return text
        }
        if let formed = event.decode(SessionFormedPayload.self) { return "team formed on \(formed.module): " + formed.members.joined(separator: ", ") }
        if let phase = event.decode(PhaseChangedPayload.self) { return "session \(phase.phase.rawValue)" }
        if let joined = event.decode(MemberJoinedPayload.self) { return "\(joined.user) joined" + (joined.role.map { " as \($0)" } ?? "") }
        if let left = event.decode(MemberLeftPayload.self) { return "\(left.user) left" }
        if let message = event.payload["message"]?.stringValue { return "\(event.type.rawValue): \(message)" }
        return event.type.rawValue + (event.actor.map { " by \($0)" } ?? "")
    }
}

/// A notebook as the replay shows it at a moment: its latest snapshot at or before the moment,
/// and the attributed edits made to it after that snapshot, up to the moment.
public struct NotebookState: Codable, Sendable, Hashable {
    public struct Snapshot: Codable, Sendable, Hashable {
        /// The snapshot event's id.
        public var id: Int64
        public var time: Date
        public var cells: [SnapshotPayload.Cell]
    }

    public struct Edit: Codable, Sendable, Hashable {
        public var id: Int64
        public var time: Date
        public var actor: String?
        public var role: String?
        public var updates: Int
        public var bytes: Int?
    }

    public var document: String
    /// Nil when the notebook was edited before its first snapshot.
    public var snapshot: Snapshot?
    public var editsSince: [Edit]

    /// Every notebook with a snapshot or an edit at or before `moment`, as of `moment`, in the order
    /// they first appear. Events are in log order; edits without a document (older logs) are left out.
    public static func states(at moment: Date, in events: [Event]) -> [NotebookState] {
        var order: [String] = []
        var states: [String: NotebookState] = [:]
        for event in events where event.time <= moment {
            if let snapshot = event.decode(SnapshotPayload.self) {
                if states[snapshot.document] == nil { order.append(snapshot.document) }
                states[snapshot.document] = NotebookState(
                    document: snapshot.document, snapshot: Snapshot(id: event.id, time: event.time, cells: snapshot.cells), editsSince: [])
            } else if let edit = event.decode(EditedPayload.self), let document = edit.document {
                if states[document] == nil {
                    order.append(document)
                    states[document] = NotebookState(document: document, snapshot: nil, editsSince: [])
                }
                states[document]?.editsSince.append(
                    Edit(id: event.id, time: event.time, actor: event.actor, role: edit.role, updates: edit.updates, bytes: edit.bytes))
            }
        }
        return order.compactMap { states[$0] }
    }
}

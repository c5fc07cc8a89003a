import Foundation
import OPECore

/// What each member of a team did in a session: time in each role, edits, cell runs, chat
/// messages and test runs. The dashboard shows it live, the replay page with a chart, and
/// `ope export contributions` / `GET /api/contributions` write it for analysis.
public struct Contributions: Codable, Sendable, Hashable {
    public struct Member: Codable, Sendable, Hashable {
        public var user: String
        /// Role → whole seconds in it (from `session.formed` and `role.changed`, to the session's
        /// end, the member's leaving, or now).
        public var roleSeconds: [String: Int]
        /// `workspace.edited` events (each a batch of edits), their document updates and bytes.
        public var edits: Int
        public var editUpdates: Int
        public var editBytes: Int
        /// `workspace.executed` events, and those that ended in an error.
        public var executions: Int
        public var executionErrors: Int
        public var chatMessages: Int
        /// `test.result` events the member started, and those that passed.
        public var testRuns: Int
        public var testsPassed: Int

        init(user: String) {
            self.user = user
            roleSeconds = [:]
            (edits, editUpdates, editBytes, executions, executionErrors, chatMessages, testRuns, testsPassed) = (0, 0, 0, 0, 0, 0, 0, 0)
        }
    }

    public var session: String
    public var module: String?
    /// The fixed group and the experiment condition, when the session had them.
    public var group: String?
    public var condition: String?
    /// When the team formed, and when its session ended (nil while it runs).
    public var formed: Date?
    public var ended: Date?
    /// Members in the order they joined (and anyone else who chatted, edited, ran or tested).
    public var members: [Member]
}

/// Folds a session's events, in log order, into ``Contributions``; cheap to keep and feed as
/// events arrive (the dashboard's figures are one tally per live team, fed only the new events).
public struct ContributionTally: Sendable {
    public let session: String
    /// The last event added.
    public private(set) var lastID: Int64 = 0
    private var module: String?
    private var group: String?
    private var condition: String?
    private var formed: Date?
    private var ended: Date?
    private var order: [String] = []
    private var members: [String: Contributions.Member] = [:]
    /// Roles now, since when; seconds in roles up to then.
    private var roles: [String: String] = [:]
    private var rolesSince: Date?
    private var seconds: [String: [String: Double]] = [:]

    public init(session: String) { self.session = session }

    /// Actors that are not members.
    static let machines: Set<String> = ["system", "bot"]

    private mutating func member(_ user: String?) -> String? {
        guard let user, !Self.machines.contains(user) else { return nil }
        if members[user] == nil {
            order.append(user)
            members[user] = Contributions.Member(user: user)
        }
        return user
    }

    /// Adds the time since the last role change to each member's current role.
    private mutating func closeRoles(at time: Date) {
        if let since = rolesSince {
            let elapsed = max(0, time.timeIntervalSince(since))
            for (user, role) in roles { seconds[user, default: [:]][role, default: 0] += elapsed }
        }
        rolesSince = time
    }

    public mutating func add(_ event: Event) {
        guard event.session == session || event.session == nil else { return }
        lastID = max(lastID, event.id)
        guard ended == nil else { return }
        if let team = event.decode(SessionFormedPayload.self) {
            module = team.module
            group = team.group
            condition = team.condition
            formed = event.time
            for user in team.members { _ = member(user) }
            roles = team.roles ?? [:]
            rolesSince = event.time
        } else if let change = event.decode(RolesPayload.self) {
            closeRoles(at: event.time)
            roles = change.roles
            for user in change.roles.keys.sorted() { _ = member(user) }
        } else if let joined = event.decode(MemberJoinedPayload.self) {
            closeRoles(at: event.time)
            _ = member(joined.user)
            if let role = joined.role { roles[joined.user] = role }
        } else if let left = event.decode(MemberLeftPayload.self) {
            closeRoles(at: event.time)
            roles[left.user] = nil
        } else if let phase = event.decode(PhaseChangedPayload.self), phase.phase.isOver {
            closeRoles(at: event.time)
            roles = [:]
            ended = event.time
        } else if let edit = event.decode(EditedPayload.self), let user = member(event.actor) {
            members[user]?.edits += 1
            members[user]?.editUpdates += edit.updates
            members[user]?.editBytes += edit.bytes ?? 0
        } else if let run = event.decode(ExecutedPayload.self), let user = member(event.actor) {
            members[user]?.executions += 1
            if run.outcome == "error" { members[user]?.executionErrors += 1 }
        } else if event.type == .chatMessage, let user = member(event.actor) {
            members[user]?.chatMessages += 1
        } else if let test = event.decode(TestResultPayload.self), let user = member(event.actor) {
            members[user]?.testRuns += 1
            if test.passed { members[user]?.testsPassed += 1 }
        }
    }

    /// The figures, with open role time counted up to `now` (or the session's end).
    public func contributions(now: Date) -> Contributions {
        var seconds = self.seconds
        if ended == nil, let since = rolesSince {
            let elapsed = max(0, now.timeIntervalSince(since))
            for (user, role) in roles { seconds[user, default: [:]][role, default: 0] += elapsed }
        }
        let list = order.compactMap { user -> Contributions.Member? in
            guard var entry = members[user] else { return nil }
            entry.roleSeconds = (seconds[user] ?? [:]).mapValues { Int($0.rounded(.down)) }
            return entry
        }
        return Contributions(session: session, module: module, group: group, condition: condition, formed: formed, ended: ended, members: list)
    }

    /// Whether the session has ended (its figures change no more).
    public var isOver: Bool { ended != nil }
}

extension Contributions {
    /// Every session's figures in a stream of events (any sessions, log order): sessions without a
    /// `session.formed` in the stream are left out.
    public struct Report: Sendable {
        private var tallies: [String: ContributionTally] = [:]
        private var order: [String] = []

        public init() {}

        public mutating func add(_ events: [Event]) {
            for event in events {
                guard let session = event.session else { continue }
                if tallies[session] == nil {
                    guard event.type == .sessionFormed else { continue }
                    tallies[session] = ContributionTally(session: session)
                    order.append(session)
                }
                tallies[session]?.add(event)
            }
        }

        public func contributions(now: Date) -> [Contributions] { order.compactMap { tallies[$0]?.contributions(now: now) } }
    }

    /// The figures as CSV, one row per session and member; a `seconds_<role>` column for each role
    /// any of them had.
    public static func csv(_ sessions: [Contributions]) -> String {
        let roles = Set(sessions.flatMap { $0.members.flatMap(\.roleSeconds.keys) }).sorted()
        var text =
            (["session", "module", "group", "condition", "member"] + roles.map { "seconds_" + $0 } + [
                "edits", "edit_updates", "edit_bytes", "executions", "execution_errors", "chat_messages", "test_runs", "tests_passed",
            ]).joined(separator: ",") + "\n"
        for session in sessions {
            for member in session.members {
                let fields =
                    [session.session, session.module ?? "", session.group ?? "", session.condition ?? "", member.user]
                    + roles.map { String(member.roleSeconds[$0] ?? 0) }
                    + [
                        member.edits, member.editUpdates, member.editBytes, member.executions, member.executionErrors, member.chatMessages, member.testRuns,
                        member.testsPassed,
                    ].map(String.init)
                text += fields.map(csvField).joined(separator: ",") + "\n"
            }
        }
        return text
    }

    /// The same rows as JSON Lines: one object per session and member.
    public static func jsonLines(_ sessions: [Contributions]) throws -> String {
        struct Row: Encodable {
            var session: String
            var module: String?
            var group: String?
            var condition: String?
            var member: Member
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var text = ""
        for session in sessions {
            for member in session.members {
                let row = Row(session: session.session, module: session.module, group: session.group, condition: session.condition, member: member)
                text += String(decoding: try encoder.encode(row), as: UTF8.self) + "\n"
            }
        }
        return text
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

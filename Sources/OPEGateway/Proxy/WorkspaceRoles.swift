import Foundation
import Logging
import OPECore
import OPERuntime
import OPEStore
import Synchronization

/// Who may type and run code in each workspace that has sockets open through this proxy, kept
/// current as roles rotate, so the proxy can decide on every relayed frame without asking anyone.
///
/// A team is followed while the proxy relays at least one of its WebSockets (``track(_:)``): its
/// session and module are read once, and again whenever the session commits a role change or a
/// member arrives or leaves. On a cluster's edge, following a team opens its room on the core, so
/// the role changes reach this process even when no member has the session page open here.
final class WorkspaceRoles: Sendable {
    /// What the proxy knows of one team.
    struct Team: Sendable {
        var session: SessionStateMachine
        var enforcement: RoleEnforcement
        /// Members' display names, for "Bob is driving".
        var names: [String: String]
        /// The first task's files, which the workspace opens on a member's first visit.
        var openFiles: [String] = []

        var driver: String? { session.members.first { $0.role == session.roles.first }?.user }

        func role(of user: String) -> String? { session.member(user)?.role }
    }

    /// Whether a member may change the shared workspace now.
    enum Decision: Sendable, Equatable {
        case allowed
        /// Read-only, with the reason the member is told.
        case readOnly(String)
    }

    private struct Entry {
        var team: Team?
        var sockets = 0
        /// Bumped by every reload, so a slow, older read cannot overwrite a newer one.
        var generation = 0
    }

    private struct Parts: Sendable {
        var runtime: any RuntimeAPI
        var accounts: any AccountDirectory
        var logger: Logger
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let parts = Mutex<Parts?>(nil)

    /// Follows the runtime's events for the life of the process.
    func start(runtime: any RuntimeAPI, accounts: any AccountDirectory, logger: Logger) async {
        parts.withLock { $0 = Parts(runtime: runtime, accounts: accounts, logger: logger) }
        _ = await runtime.subscribe { [self] events in
            let changed = Set(
                events.lazy.filter { Self.changesRoles($0.type) }.compactMap(\.session)
            )
            guard !changed.isEmpty else { return }
            let tracked = entries.withLock { entries in changed.filter { entries[$0] != nil } }
            for session in tracked { Task { await reload(session) } }
        }
    }

    static func changesRoles(_ type: EventType) -> Bool {
        type == .roleChanged || type == .sessionMemberJoined || type == .sessionMemberLeft || type == .sessionPhaseChanged
    }

    /// A socket of `session`'s workspace opened: follow the team until ``untrack(_:)``.
    func track(_ session: String) async {
        let first = entries.withLock { entries -> Bool in
            entries[session, default: Entry()].sockets += 1
            return entries[session]?.sockets == 1
        }
        guard first, let parts = parts.withLock({ $0 }) else { return }
        do {
            try await parts.runtime.openRoom(session)
        } catch {
            parts.logger.warning("role changes of a workspace's team not followed", metadata: ["session": "\(session)", "error": "\(error)"])
        }
        await reload(session)
    }

    func untrack(_ session: String) async {
        let last = entries.withLock { entries -> Bool in
            guard var entry = entries[session] else { return false }
            entry.sockets -= 1
            if entry.sockets <= 0 {
                entries[session] = nil
                return true
            }
            entries[session] = entry
            return false
        }
        if last, let parts = parts.withLock({ $0 }) { await parts.runtime.closeRoom(session) }
    }

    /// Reads the team again (its roles changed).
    func reload(_ session: String) async {
        guard let parts = parts.withLock({ $0 }) else { return }
        guard
            let generation = entries.withLock({ entries -> Int? in
                guard entries[session] != nil else { return nil }
                entries[session]!.generation += 1
                return entries[session]!.generation
            })
        else { return }
        do {
            guard let team = try await Self.read(session, parts: parts) else { return }
            entries.withLock { entries in
                guard entries[session]?.generation == generation else { return }
                entries[session]!.team = team
            }
        } catch {
            parts.logger.warning("a workspace's team could not be read", metadata: ["session": "\(session)", "error": "\(error)"])
        }
    }

    /// The session, its module's roles and files, and its members' names, as the runtime has them now.
    private static func read(_ session: String, parts: Parts) async throws -> Team? {
        guard let live = try await parts.runtime.session(session) else { return nil }
        let module = try await parts.runtime.module(id: live.module)
        var names: [String: String] = [:]
        for member in live.members { names[member.user] = try await parts.accounts.findUser(member.user)?.displayName ?? member.user }
        return Team(session: live, enforcement: module?.roleEnforcement ?? .off, names: names, openFiles: module?.tasks.first?.starterFiles ?? [])
    }

    /// The team as last read; nil if it is not followed (or not read yet).
    func team(_ session: String) -> Team? { entries.withLock { $0[session]?.team } }

    /// Whether `user` may edit and run code in `session`'s workspace now. Staff watching a team
    /// never change its work when roles are enforced; members other than the driver neither.
    func decision(for user: String, in session: String, now: Date) -> Decision {
        team(session).map { Self.decision(for: user, team: $0, now: now) } ?? .allowed
    }

    static func decision(for user: String, team: Team, now: Date) -> Decision {
        guard team.enforcement == .driverEdits else { return .allowed }
        if let driver = team.driver, driver == user { return .allowed }
        return .readOnly(reason(team: team, now: now))
    }

    /// The team and what `user` may do in it, for a request: from the followed team, or, for a
    /// team with no sockets here (a script calling the API), read now. A team that cannot be read
    /// is read-only, saying so.
    func reading(for user: String, in session: String, now: Date) async -> (team: Team?, decision: Decision) {
        if let team = team(session) { return (team, Self.decision(for: user, team: team, now: now)) }
        guard let parts = parts.withLock({ $0 }) else { return (nil, .allowed) }
        do {
            let team = try await Self.read(session, parts: parts)
            return (team, team.map { Self.decision(for: user, team: $0, now: now) } ?? .allowed)
        } catch {
            return (nil, .readOnly("the team's roles could not be checked; try again in a moment"))
        }
    }

    /// "Bob is driving — roles rotate in 4 min".
    static func reason(team: Team, now: Date) -> String {
        let driving = team.driver.map { "\(team.names[$0] ?? $0) is driving" } ?? "nobody is driving"
        guard let next = team.session.nextRotation else { return "\(driving): only the driver edits and runs code" }
        let minutes = max(1, Int((next.timeIntervalSince(now) / 60).rounded(.up)))
        return "\(driving) — roles rotate in \(minutes) min"
    }
}

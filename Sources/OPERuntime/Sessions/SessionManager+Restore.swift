import Foundation
import Logging
import OPECore
import OPEStore

extension SessionManager {
    /// Event types that shape the lobby and the sessions.
    static let restoredTypes: [EventType] = [
        .lobbyJoined, .lobbyLeft, .lobbyGaveUp, .moduleMatchingChanged, .moduleGroupsUploaded, .sessionFormed, .sessionMemberJoined, .sessionMemberLeft,
        .roleChanged, .sessionPhaseChanged, .experimentAssigned,
    ]

    /// Rebuilds the lobby queue, sessions, members, roles and phases from the event log, as they
    /// were when the process stopped. Everyone counts as away from now on, so the grace period
    /// starts again and members who reconnect keep their seat and role.
    public func restore() async throws {
        let now = clock.now
        var count = 0
        var filter = EventFilter(types: Self.restoredTypes)
        while true {
            let page = try await reader.events(filter, limit: 5000)
            for event in page { replay(event) }
            count += page.count
            guard let last = page.last, page.count == 5000 else { break }
            filter.afterID = last.id
        }
        for id in sessions.keys {
            guard var session = sessions[id], !session.phase.isOver else { continue }
            for member in session.members { session.disconnected(member.user, now: now) }
            sessions[id] = session
            for member in session.members { userSession[member.user] = id }
            if !staticSessions.values.contains(id) {
                lobby.sessionUpdated(.init(id: id, module: session.module, size: session.members.count, createdAt: session.createdAt))
            }
        }
        logger.info(
            "restored lobby and sessions from the event log",
            metadata: [
                "events": "\(count)", "sessions": "\(sessions.values.filter { !$0.phase.isOver }.count)",
                "waiting": "\(lobby.queues.values.map(\.count).reduce(0, +))",
            ]
        )
    }

    private func replay(_ event: Event) {
        switch event.type {
        case .lobbyJoined:
            guard let user = event.actor, let joined = event.decode(LobbyPayload.self) else { return }
            gaveUp[user] = nil
            lobby.restore(.init(user: user, module: joined.module, joinedAt: event.time))
        case .lobbyLeft:
            if let user = event.actor { lobby.leave(user: user) }
        case .lobbyGaveUp:
            guard let user = event.actor else { return }
            lobby.leave(user: user)
            gaveUp[user] = event.decode(LobbyPayload.self)?.module
        case .moduleMatchingChanged:
            guard let change = event.decode(MatchingChangedPayload.self), var settings = lobby.settings[change.module] else { return }
            settings.matching.open = change.open
            settings.matching.mode = change.mode
            lobby.configure(module: change.module, settings)
        case .moduleGroupsUploaded:
            guard let upload = event.decode(GroupsUploadedPayload.self) else { return }
            staticGroups[upload.module] = upload.groups
        case .sessionFormed:
            guard let id = event.session, let team = event.decode(SessionFormedPayload.self) else { return }
            let roleOrder = team.roleOrder ?? Module.defaultRoles
            var session = SessionStateMachine(
                id: id, module: team.module, members: team.members, roles: roleOrder.isEmpty ? Module.defaultRoles : roleOrder,
                lateJoinRole: team.lateJoinRole ?? roleOrder.last ?? "researcher", rotationInterval: team.rotationSeconds.map { .seconds($0) },
                gracePeriod: configuration.gracePeriod, now: event.time
            )
            if let roles = team.roles { session.restore(roles: roles, rotation: 0, at: event.time) }
            for member in team.members {
                lobby.leave(user: member)
                gaveUp[member] = nil
            }
            sessions[id] = session
            if let group = team.group { staticSessions[team.module + "/" + group] = id }
            sessions[id]?.condition = team.condition
        case .experimentAssigned:
            if let assignment = event.decode(ExperimentAssignedPayload.self) { experimentCounts[assignment.module, default: 0] += 1 }
        case .sessionMemberJoined:
            guard let id = event.session, var session = sessions[id], let joined = event.decode(MemberJoinedPayload.self) else { return }
            lobby.leave(user: joined.user)
            _ = session.addMember(joined.user, now: event.time)
            if let role = joined.role, let member = session.member(joined.user), member.role != role {
                session.restore(roles: [joined.user: role], rotation: session.rotation, at: session.lastRotation)
            }
            sessions[id] = session
        case .sessionMemberLeft:
            guard let id = event.session, var session = sessions[id], let left = event.decode(MemberLeftPayload.self) else { return }
            _ = session.removeMember(left.user, now: event.time)
            sessions[id] = session
        case .roleChanged:
            guard let id = event.session, var session = sessions[id], let change = event.decode(RolesPayload.self) else { return }
            session.restore(roles: change.roles, rotation: change.rotation ?? session.rotation, at: event.time)
            sessions[id] = session
        case .sessionPhaseChanged:
            guard let id = event.session, var session = sessions[id], let change = event.decode(PhaseChangedPayload.self) else { return }
            session.restore(phase: change.phase, at: event.time)
            sessions[id] = session
        default:
            break
        }
    }
}

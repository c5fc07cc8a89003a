import Foundation
import Logging
import OPECore
import OPEStore

extension SessionManager {
    /// Event types that shape the lobby and the sessions.
    static let restoredTypes: [EventType] = [
        .lobbyJoined, .lobbyLeft, .lobbyGaveUp, .moduleMatchingChanged, .moduleGroupsUploaded, .sessionFormed, .sessionMemberJoined, .sessionMemberLeft, .roleChanged, .sessionPhaseChanged, .experimentAssigned,
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
            metadata: ["events": "\(count)", "sessions": "\(sessions.values.filter { !$0.phase.isOver }.count)", "waiting": "\(lobby.queues.values.map(\.count).reduce(0, +))"]
        )
    }

    private func replay(_ event: Event) {
        let payload = event.payload
        switch event.type {
        case .lobbyJoined:
            guard let user = event.actor, let module = payload["module"]?.stringValue else { return }
            gaveUp[user] = nil
            lobby.restore(.init(user: user, module: module, joinedAt: event.time))
        case .lobbyLeft:
            if let user = event.actor { lobby.leave(user: user) }
        case .lobbyGaveUp:
            guard let user = event.actor else { return }
            lobby.leave(user: user)
            gaveUp[user] = payload["module"]?.stringValue
        case .moduleMatchingChanged:
            guard let module = payload["module"]?.stringValue, var settings = lobby.settings[module] else { return }
            if case .bool(let open)? = payload["open"] { settings.matching.open = open }
            if let mode = payload["mode"]?.stringValue.flatMap(MatchingPolicy.Mode.init(rawValue:)) { settings.matching.mode = mode }
            lobby.configure(module: module, settings)
        case .moduleGroupsUploaded:
            guard let module = payload["module"]?.stringValue, case .object(let groups)? = payload["groups"] else { return }
            staticGroups[module] = groups.compactMapValues { value in
                if case .array(let users) = value { return users.compactMap(\.stringValue) }
                return nil
            }
        case .sessionFormed:
            guard let id = event.session, let module = payload["module"]?.stringValue, case .array(let list)? = payload["members"] else { return }
            let members = list.compactMap(\.stringValue)
            let roleOrder: [String] = {
                if case .array(let roles)? = payload["roleOrder"] { return roles.compactMap(\.stringValue) }
                return Module.defaultRoles
            }()
            var rotation: Duration?
            if case .number(let seconds)? = payload["rotationSeconds"] { rotation = .seconds(seconds) }
            var session = SessionStateMachine(
                id: id, module: module, members: members, roles: roleOrder.isEmpty ? Module.defaultRoles : roleOrder,
                lateJoinRole: payload["lateJoinRole"]?.stringValue ?? roleOrder.last ?? "researcher", rotationInterval: rotation,
                gracePeriod: configuration.gracePeriod, now: event.time
            )
            if case .object(let roles)? = payload["roles"] { session.restore(roles: roles.compactMapValues(\.stringValue), rotation: 0, at: event.time) }
            for member in members {
                lobby.leave(user: member)
                gaveUp[member] = nil
            }
            sessions[id] = session
            if let group = payload["group"]?.stringValue { staticSessions[module + "/" + group] = id }
            sessions[id]?.condition = payload["condition"]?.stringValue
        case .experimentAssigned:
            if let module = payload["module"]?.stringValue { experimentCounts[module, default: 0] += 1 }
        case .sessionMemberJoined:
            guard let id = event.session, var session = sessions[id], let user = payload["user"]?.stringValue else { return }
            lobby.leave(user: user)
            _ = session.addMember(user, now: event.time)
            if let role = payload["role"]?.stringValue, let member = session.member(user), member.role != role {
                session.restore(roles: [user: role], rotation: session.rotation, at: session.lastRotation)
            }
            sessions[id] = session
        case .sessionMemberLeft:
            guard let id = event.session, var session = sessions[id], let user = payload["user"]?.stringValue else { return }
            _ = session.removeMember(user, now: event.time)
            sessions[id] = session
        case .roleChanged:
            guard let id = event.session, var session = sessions[id], case .object(let roles)? = payload["roles"] else { return }
            var rotation = session.rotation
            if case .number(let value)? = payload["rotation"] { rotation = Int(value) }
            session.restore(roles: roles.compactMapValues(\.stringValue), rotation: rotation, at: event.time)
            sessions[id] = session
        case .sessionPhaseChanged:
            guard let id = event.session, var session = sessions[id],
                let phase = payload["phase"]?.stringValue.flatMap(SessionStateMachine.Phase.init(rawValue:))
            else { return }
            session.restore(phase: phase, at: event.time)
            sessions[id] = session
        default:
            break
        }
    }
}

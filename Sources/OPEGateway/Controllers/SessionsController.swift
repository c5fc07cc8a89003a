import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OPECore
import OPERuntime
import OPEStore
import OPEWorkspaces

/// Sessions as members and instructors see them, and the instructor's commands.
struct SessionsController {
    let hub: RoomHub
    let accounts: any AccountDirectory
    let runtime: any RuntimeAPI
    /// Set when workspaces have their own origin.
    let workspaceOrigin: String?

    struct WorkspaceInfo: Encodable, Sendable {
        /// waiting, starting, ready, stopped or failed.
        var state: String
        /// Where the team opens it (through the proxy), when ready.
        var path: String?
        /// The same as a full URL when workspaces have their own origin, else the path.
        var url: String?
        /// Why it stopped or failed.
        var reason: String?
    }

    struct TestRequest: Decodable {
        var task: String
    }

    struct SessionResponse: Encodable, Sendable {
        struct Member: Encodable, Sendable {
            var username: String
            var displayName: String
            var role: String
            var connected: Bool
            var lateJoiner: Bool
        }
        var id: String
        var module: String
        var phase: String
        var members: [Member]
        /// username → role.
        var roles: [String: String]
        var roleOrder: [String]
        var createdAt: Date
        var nextRotation: Date?
        var workspace: WorkspaceInfo?
        /// For instructors: how the team is doing.
        var activity: TeamActivity?
    }

    /// The dashboard's view of a team: when it last did something (chat, test runs, editing in
    /// JupyterLab), its latest test result per task, the task it is on, and why it looks stuck,
    /// if it does.
    struct HintRequest: Decodable {
        var text: String
        var module: String?
    }

    struct MatchingRequest: Decodable {
        var open: Bool?
        var mode: String?
    }

    /// The matching rules in force, durations in seconds.
    struct MatchingAnswer: Encodable, Sendable {
        var mode: String
        var open: Bool
        var settle: Int
        var giveUp: Int
        var lateJoin: Int

        init(_ policy: MatchingPolicy) {
            mode = policy.mode.rawValue
            open = policy.open
            settle = DurationText.seconds(policy.settle)
            giveUp = DurationText.seconds(policy.giveUp)
            lateJoin = DurationText.seconds(policy.lateJoin)
        }
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("sessions", use: list)
        group.get("sessions/:id", use: detail)
        group.post("sessions/:id/rotate", use: rotate)
        group.post("sessions/:id/hint", use: hint)
        group.post("hints", use: hintAll)
        group.post("sessions/:id/end", use: end)
        group.post("sessions/:id/leave", use: leave)
        group.post("sessions/:id/tests", use: runTests)
        group.post("sessions/:id/workspace/restart", use: restartWorkspace)
        group.post("modules/:id/matching", use: matching)
        group.put("modules/:id/groups", use: uploadGroups)
        group.get("modules/:id/groups", use: groups)
    }

    struct GroupsResponse: Encodable, Sendable {
        var module: String
        /// Group name → usernames.
        var groups: [String: [String]]
    }

    /// An instructor uploads fixed groups as CSV (`username,group`); the module switches to static mode.
    @Sendable func uploadGroups(request: Request, context: AppRequestContext) async throws -> JSONResponse<GroupsResponse> {
        let identity = try context.requireStaff()
        let module = try context.parameters.require("id")
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: 1 << 20)
        } catch {
            throw APIError(.contentTooLarge, "the groups file is larger than 1 MiB")
        }
        let groups = try await runtime.uploadGroups(csv: String(buffer: buffer), module: module, by: identity.user.username)
        return JSONResponse(value: GroupsResponse(module: module, groups: groups))
    }

    @Sendable func groups(request: Request, context: AppRequestContext) async throws -> JSONResponse<GroupsResponse> {
        _ = try context.requireStaff()
        let module = try context.parameters.require("id")
        return JSONResponse(value: GroupsResponse(module: module, groups: try await runtime.groups(of: module) ?? [:]))
    }

    func response(_ session: SessionStateMachine) async throws -> SessionResponse {
        let connected = hub.connectedUsers(in: session.id)
        var members: [SessionResponse.Member] = []
        for member in session.members {
            let name = try await accounts.findUser(member.user)?.displayName ?? member.user
            members.append(
                .init(username: member.user, displayName: name, role: member.role, connected: connected.contains(member.user), lateJoiner: member.lateJoiner))
        }
        return SessionResponse(
            id: session.id, module: session.module, phase: session.phase.rawValue, members: members, roles: session.roleMap, roleOrder: session.roles,
            createdAt: session.createdAt, nextRotation: session.nextRotation, workspace: try await workspaceInfo(session.id)
        )
    }

    /// An instructor sends a hint to one team; it appears in their chat, set apart.
    @Sendable func hint(request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireStaff()
        let session = try await visibleSession(context)
        let body = try await request.decodeJSON(HintRequest.self, context: context)
        _ = try await runtime.hint(body.text, to: .session(session.id), by: identity.user.username)
        return Response(status: .noContent)
    }

    /// The same hint to every live team (of one module, if given).
    @Sendable func hintAll(request: Request, context: AppRequestContext) async throws -> JSONResponse<[String: Int]> {
        let identity = try context.requireStaff()
        let body = try await request.decodeJSON(HintRequest.self, context: context)
        return JSONResponse(value: ["sent": try await runtime.hint(body.text, to: .allLive(module: body.module), by: identity.user.username)])
    }

    func workspaceInfo(_ session: String) async throws -> WorkspaceInfo? {
        guard let state = try await runtime.workspaceState(of: session) else { return nil }
        switch state {
        case .ready(let workspace): return WorkspaceInfo(state: state.name, path: workspace.path, url: (workspaceOrigin ?? "") + workspace.path)
        case .stopped(let reason): return WorkspaceInfo(state: state.name, reason: reason)
        case .failed(let reason): return WorkspaceInfo(state: state.name, reason: reason)
        case .waiting, .starting: return WorkspaceInfo(state: state.name)
        }
    }

    /// A member (or instructor) runs a task's tests on the group's files: `{"task": "..."}`.
    @Sendable func runTests(request: Request, context: AppRequestContext) async throws -> JSONResponse<TaskTestService.Outcome> {
        let identity = try context.requireIdentity()
        let session = try await visibleSession(context)
        let body = try await request.decodeJSON(TestRequest.self, context: context)
        return JSONResponse(value: try await runtime.runTests(task: body.task, session: session.id, by: identity.user.username))
    }

    /// A member or instructor asks for the workspace to start again.
    @Sendable func restartWorkspace(request: Request, context: AppRequestContext) async throws -> JSONResponse<WorkspaceInfo> {
        let identity = try context.requireIdentity()
        let session = try await visibleSession(context)
        try await runtime.restartWorkspace(session: session.id, by: identity.user.username)
        return JSONResponse(value: try await workspaceInfo(session.id) ?? WorkspaceInfo(state: "waiting"), status: .accepted)
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> JSONResponse<[SessionResponse]> {
        _ = try context.requireStaff()
        var result: [SessionResponse] = []
        for session in try await runtime.liveSessions() {
            var entry = try await response(session)
            entry.activity = try await runtime.activity(of: session)
            result.append(entry)
        }
        return JSONResponse(value: result)
    }

    @Sendable func detail(request: Request, context: AppRequestContext) async throws -> JSONResponse<SessionResponse> {
        let session = try await visibleSession(context)
        return JSONResponse(value: try await response(session))
    }

    struct LeaveResponse: Encodable, Sendable {
        var session: String
        var module: String
        /// Members still in the team.
        var remaining: [String]
        /// The session's phase now: `abandoned` when the leaver was the last one.
        var phase: String
        var message: String
    }

    /// A member leaves their session for good: the team is told in the room, works on without
    /// them (or the session ends if nobody is left), and the leaver may join another module.
    @Sendable func leave(request: Request, context: AppRequestContext) async throws -> JSONResponse<LeaveResponse> {
        let identity = try context.requireIdentity()
        let id = try context.parameters.require("id")
        let user = identity.user.username
        let departure: SessionManager.Departure
        do {
            departure = try await runtime.leave(user: user, session: id)
        } catch let error as SessionManager.LeaveError {
            switch error {
            case .unknownSession: throw APIError(.notFound, error.description)
            case .notMember: throw APIError(.forbidden, error.description)
            case .over: throw APIError(.conflict, error.description)
            }
        }
        hub.closeConnections(of: user, in: id)
        let message =
            departure.remaining.isEmpty
            ? "You left session \(id). Nobody was left in it, so it has ended." : "You left session \(id); your team was told and works on without you."
        return JSONResponse(
            value: LeaveResponse(session: id, module: departure.module, remaining: departure.remaining, phase: departure.phase.rawValue, message: message)
        )
    }

    @Sendable func rotate(request: Request, context: AppRequestContext) async throws -> JSONResponse<SessionResponse> {
        try await command(context, refusal: "does not exist or is over") { id, actor in try await runtime.rotate(session: id, by: actor) }
    }

    @Sendable func end(request: Request, context: AppRequestContext) async throws -> JSONResponse<SessionResponse> {
        try await command(context, refusal: "does not exist or is already over") { id, actor in try await runtime.end(session: id, by: actor) }
    }

    /// Runs an instructor's command on the session in the path and answers with the session after it.
    private func command(
        _ context: AppRequestContext, refusal: String, _ run: (String, String) async throws -> Bool
    ) async throws -> JSONResponse<SessionResponse> {
        let identity = try context.requireStaff()
        let id = try context.parameters.require("id")
        guard try await run(id, identity.user.username), let session = try await runtime.session(id) else {
            throw APIError(.conflict, "session \(id) \(refusal)")
        }
        return JSONResponse(value: try await response(session))
    }

    @Sendable func matching(request: Request, context: AppRequestContext) async throws -> JSONResponse<MatchingAnswer> {
        let identity = try context.requireStaff()
        let module = try context.parameters.require("id")
        let body = try await request.decodeJSON(MatchingRequest.self, context: context)
        var mode: MatchingPolicy.Mode?
        if let text = body.mode {
            guard let value = MatchingPolicy.Mode(rawValue: text) else { throw APIError(.badRequest, "mode must be dynamic or static") }
            mode = value
        }
        do {
            return JSONResponse(value: MatchingAnswer(try await runtime.setMatching(module: module, open: body.open, mode: mode, by: identity.user.username)))
        } catch is SessionManager.JoinError {
            throw APIError(.notFound, "no module '\(module)'")
        }
    }

    /// The session in the path, if the caller is a member or staff (404 and 403 otherwise).
    func visibleSession(_ context: AppRequestContext) async throws -> SessionStateMachine {
        let identity = try context.requireIdentity()
        let id = try context.parameters.require("id")
        guard let session = try await runtime.session(id) else { throw APIError(.notFound, "no session '\(id)'") }
        guard session.admits(identity.user) else {
            throw APIError(.forbidden, "you are not a member of session \(id)")
        }
        return session
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import OPECore
import OPERuntime

/// Joining and leaving the lobby, and where a participant stands.
struct LobbyController {
    let runtime: any RuntimeAPI
    /// The team rooms, to close the connections of someone who left their team to join elsewhere.
    var hub: RoomHub? = nil

    struct JoinRequest: Decodable {
        var module: String
        /// The id of the session the caller is in and means to leave for this module.
        var leaveSession: String?
    }

    struct StatusResponse: Encodable, Sendable {
        /// `waiting`, `matched`, `gave_up` or `idle`.
        var status: String
        var module: String?
        var position: Int?
        var waitingSince: Date?
        /// While waiting: when a smaller team (or a team of one) may form.
        var settleAt: Date?
        /// While waiting: when the lobby gives up and they leave the queue.
        var giveUpAt: Date?
        var session: String?
        /// When matched: how many are in the team (1: working alone).
        var teamSize: Int?
        /// What the state means for the participant, in words.
        var message: String?

        init(_ status: SessionManager.Status) {
            switch status {
            case .waiting(let waiting):
                self.status = "waiting"
                module = waiting.module
                position = waiting.position
                waitingSince = waiting.since
                settleAt = waiting.settleAt
                giveUpAt = waiting.giveUpAt
                message = LobbyWords.teamForming(waiting) + " " + LobbyWords.waitLimit(waiting)
            case .matched(let session):
                self.status = "matched"
                self.session = session
            case .gaveUp(let module):
                self.status = "gave_up"
                self.module = module
                message = LobbyWords.gaveUp
            case .idle:
                self.status = "idle"
            }
        }
    }

    /// The status, with the team's size and, for a team of one, the words that say so.
    func response(_ status: SessionManager.Status) async throws -> StatusResponse {
        var response = StatusResponse(status)
        if case .matched(let id) = status, let session = try await runtime.session(id) {
            response.module = session.module
            response.teamSize = session.members.count
            response.message =
                session.members.count == 1
                ? LobbyWords.alone(lateJoin: try await runtime.lateJoinTimeLeft(session: id)) : "Your team is ready."
        }
        return response
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("lobby/join", use: join)
        group.delete("lobby/join", use: leave)
        group.get("lobby", use: status)
        group.get("lobby/queue", use: queue)
    }

    struct QueueEntry: Encodable, Sendable {
        struct Person: Encodable, Sendable {
            var username: String
            var since: Date
            var position: Int
        }
        var module: String
        var waiting: [Person]
    }

    /// Who waits for which module, for the instructor dashboard.
    @Sendable func queue(request: Request, context: AppRequestContext) async throws -> JSONResponse<[QueueEntry]> {
        _ = try context.requireStaff()
        let queues = try await runtime.queueSnapshot()
        return JSONResponse(
            value: queues.keys.sorted().map { module in
                QueueEntry(
                    module: module,
                    waiting: queues[module, default: []].enumerated().map { .init(username: $1.user, since: $1.joinedAt, position: $0 + 1) }
                )
            }
        )
    }

    @Sendable func join(request: Request, context: AppRequestContext) async throws -> JSONResponse<StatusResponse> {
        let identity = try context.requireIdentity()
        let body = try await request.decodeJSON(JoinRequest.self, context: context)
        do {
            let status = try await runtime.join(user: identity.user.username, module: body.module, leaving: body.leaveSession)
            if let left = body.leaveSession { hub?.closeConnections(of: identity.user.username, in: left) }
            return JSONResponse(value: try await response(status))
        } catch let error as SessionManager.JoinError {
            throw Self.apiError(error)
        }
    }

    /// A refused join in words, with the status that fits.
    static func apiError(_ error: SessionManager.JoinError) -> APIError {
        switch error {
        case .lobby(.unknownModule): APIError(.notFound, error.description)
        case .lobby(.closed), .lobby(.staticMode), .notInGroup: APIError(.forbidden, error.description)
        case .lobby(.alreadyWaiting), .inSession: APIError(.conflict, error.description)
        }
    }

    @Sendable func leave(request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        guard try await runtime.leaveLobby(user: identity.user.username) else { throw APIError(.notFound, "you are not waiting in the lobby") }
        return Response(status: .noContent)
    }

    @Sendable func status(request: Request, context: AppRequestContext) async throws -> JSONResponse<StatusResponse> {
        let identity = try context.requireIdentity()
        return JSONResponse(value: try await response(try await runtime.committedStatus(of: identity.user.username)))
    }
}

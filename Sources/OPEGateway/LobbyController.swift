import Foundation
import HTTPTypes
import Hummingbird
import OPECore

/// Joining and leaving the lobby, and where a participant stands.
struct LobbyController {
    let sessions: SessionManager

    struct JoinRequest: Decodable {
        var module: String
    }

    struct StatusResponse: Encodable, Sendable {
        /// `waiting`, `matched`, `gave_up` or `idle`.
        var status: String
        var module: String?
        var position: Int?
        var waitingSince: Date?
        var session: String?
        var message: String?

        init(_ status: SessionManager.Status) {
            switch status {
            case .waiting(let module, let position, let since):
                self.status = "waiting"
                self.module = module
                self.position = position
                waitingSince = since
            case .matched(let session):
                self.status = "matched"
                self.session = session
            case .gaveUp(let module):
                self.status = "gave_up"
                self.module = module
                message = "nobody else joined in time; try again later or ask your instructor"
            case .idle:
                self.status = "idle"
            }
        }
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
        let queues = await sessions.queueSnapshot()
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
            let status = try await sessions.join(user: identity.user.username, module: body.module)
            return JSONResponse(value: StatusResponse(status))
        } catch let error as SessionManager.JoinError {
            switch error {
            case .lobby(.unknownModule): throw APIError(.notFound, error.description)
            case .lobby(.closed), .lobby(.staticMode), .notInGroup: throw APIError(.forbidden, error.description)
            case .lobby(.alreadyWaiting), .inSession: throw APIError(.conflict, error.description)
            }
        }
    }

    @Sendable func leave(request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        guard try await sessions.leave(user: identity.user.username) else { throw APIError(.notFound, "you are not waiting in the lobby") }
        return Response(status: .noContent)
    }

    @Sendable func status(request: Request, context: AppRequestContext) async throws -> JSONResponse<StatusResponse> {
        let identity = try context.requireIdentity()
        return JSONResponse(value: StatusResponse(await sessions.committedStatus(of: identity.user.username)))
    }
}

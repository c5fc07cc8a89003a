import Foundation
import OPECore

/// What the session manager answers and refuses with: a participant's place, a refused join or
/// leave, a member's departure.
extension SessionManager {
    /// Where a participant stands, as `POST /api/lobby/join` and `GET /api/lobby` report it.
    public enum Status: Sendable, Hashable, Codable {
        case waiting(Waiting)
        case matched(session: String)
        case gaveUp(module: String)
        case idle
    }

    /// A participant in the queue, and what the lobby will do about them and when.
    public struct Waiting: Sendable, Hashable, Codable {
        public var module: String
        /// 1-based place in the module's queue.
        public var position: Int
        public var since: Date
        /// After this, a smaller group may form; with a minimum group of one, they start alone.
        public var settleAt: Date
        /// At this time the lobby gives up and they leave the queue.
        public var giveUpAt: Date
        public var group: GroupSize
    }

    public enum JoinError: Error, Sendable, Codable, CustomStringConvertible {
        case lobby(LobbyStateMachine.JoinError)
        /// The participant is in a live session (of `module`) and did not say to leave it.
        case inSession(session: String, module: String)
        case notInGroup(module: String)

        public var description: String {
            switch self {
            case .lobby(let error): error.description
            case .inSession(let id, let module):
                "you are already in session \(id) (module '\(module)'); stay there, or leave it first "
                    + "(POST /api/sessions/\(id)/leave, or join with \"leaveSession\": \"\(id)\")"
            case .notInGroup(let module): "module '\(module)' uses fixed groups and you are in none of them; ask your instructor"
            }
        }
    }

    /// Why a member could not leave a session.
    public enum LeaveError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
        case unknownSession(String)
        case notMember(session: String)
        case over(session: String, phase: SessionStateMachine.Phase)

        public var description: String {
            switch self {
            case .unknownSession(let id): "no session '\(id)'"
            case .notMember(let id): "you are not a member of session \(id), so you cannot leave it"
            case .over(let id, let phase): "session \(id) has already ended (\(phase.rawValue)); there is nothing to leave"
            }
        }
    }

    /// A member's departure, as the API reports it.
    public struct Departure: Sendable, Hashable, Codable {
        public var session: String
        public var module: String
        /// Members still in the team.
        public var remaining: [String]
        /// The session's phase after the departure (`abandoned` when nobody is left).
        public var phase: SessionStateMachine.Phase
    }
}

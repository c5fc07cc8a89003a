import OPECore

/// A command the runtime refused, in words, with what kind of refusal it is: each front door maps
/// the kind once (HTTP to a status, the team room to an error frame, later gRPC to a status code).
public struct RuntimeError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable, Codable {
        /// The request itself is wrong (an unknown task, an empty hint).
        case invalid
        /// No such thing (session, module).
        case notFound
        /// Not possible in the state things are in (the session has ended, no workspaces).
        case conflict
        /// Not now: try again after this many seconds (too many workspaces starting).
        case busy(retryAfterSeconds: Int)
        /// The part of the platform that holds this (a team's core, in a cluster) cannot be
        /// reached now; try again after this many seconds.
        case unavailable(retryAfterSeconds: Int)
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// Too many workspaces are starting.
    public init(_ busy: WorkspaceService.Busy) {
        self.init(.busy(retryAfterSeconds: busy.retryAfterSeconds), "many workspaces are starting; try again in \(busy.retryAfterSeconds) s")
    }

    /// The refusal of anything more in an ended session.
    public static func over(_ session: SessionStateMachine, _ consequence: String) -> RuntimeError {
        RuntimeError(.conflict, "session \(session.id) has ended (\(session.phase.rawValue)): \(consequence)")
    }
}

/// What a user may do on the platform (not the role inside a team, see ``Module/roles``).
public enum PlatformRole: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case participant
    case instructor
    case admin

    public var description: String { rawValue }

    /// Instructors and admins see all sessions, the dashboard and the exports.
    public var isStaff: Bool { self != .participant }
}

import Foundation

/// A person who can sign in.
public struct User: Sendable, Hashable, Codable {
    public var username: String
    public var displayName: String
    public var role: PlatformRole
    public var createdAt: Date
    /// A disabled account cannot sign in, and its sign-ins and API tokens are refused.
    public var disabled: Bool

    public init(username: String, displayName: String, role: PlatformRole, createdAt: Date = Date(), disabled: Bool = false) {
        self.username = username
        self.displayName = displayName
        self.role = role
        self.createdAt = createdAt
        self.disabled = disabled
    }

    /// Usernames are short, lowercase and safe in URLs, file names and logs.
    public static func validate(username: String) throws(UsernameError) {
        guard (2...64).contains(username.count) else { throw UsernameError(username: username, reason: "must be 2 to 64 characters") }
        let allowed = username.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_" || scalar == "."
        }
        guard allowed else {
            throw UsernameError(username: username, reason: "may contain only lowercase letters, digits, '.', '-' and '_'")
        }
    }
}

/// A username that OPE does not accept. `Codable` so that a refusal keeps its words when it
/// crosses the wire from another process.
public struct UsernameError: Error, Sendable, CustomStringConvertible, Codable {
    public var username: String
    public var reason: String
    public var description: String { "invalid username '\(username)': \(reason)" }
}

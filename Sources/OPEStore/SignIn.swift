import Foundation
import OPECore

/// A signed-in browser: the user behind a session cookie and the CSRF token bound to it.
public struct SignIn: Sendable, Hashable {
    public var user: User
    public var csrfToken: String
    public var createdAt: Date

    public init(user: User, csrfToken: String, createdAt: Date) {
        self.user = user
        self.csrfToken = csrfToken
        self.createdAt = createdAt
    }

    /// A sign-in just started: the cookie's secret token (only this browser ever gets it), the
    /// CSRF token bound to it, and the longest it can live, which the cookie's `Max-Age` follows.
    ///
    /// The lifetime comes with the answer rather than from a setting the gateway reads, so a
    /// gateway whose accounts live in another process learns it from the same call.
    public struct Issued: Sendable, Hashable {
        public var token: String
        public var csrfToken: String
        public var lifetime: TimeInterval

        public init(token: String, csrfToken: String, lifetime: TimeInterval) {
            self.token = token
            self.csrfToken = csrfToken
            self.lifetime = lifetime
        }
    }
}

import Foundation
import Hummingbird
import OPECore
import OPEStore

/// Signing in with a password, shared by the JSON API and the sign-in page: the throttle, the
/// check, the record of a failure, the new sign-in and its cookie.
struct PasswordSignIn: Sendable {
    enum Outcome: Sendable {
        case signedIn(User, token: String, csrfToken: String)
        case wrongPassword
        /// Too many failures; try again after this many seconds.
        case throttled(seconds: Int)
    }

    let store: Store
    let throttle: LoginThrottle
    let secureCookies: Bool

    func attempt(username raw: String, password: String, address: String?) async throws -> Outcome {
        let username = raw.trimmingCharacters(in: .whitespaces).lowercased()
        if let wait = await throttle.retryAfter(username: username, address: address) {
            return .throttled(seconds: max(1, DurationText.seconds(wait) + 1))
        }
        guard let user = try await store.users.authenticate(username: username, password: password) else {
            await throttle.recordFailure(username: username, address: address)
            try await store.recordSignInFailure(username: username, address: address)
            return .wrongPassword
        }
        await throttle.recordSuccess(username: username, address: address)
        let session = try await store.signIns.create(for: user, address: address, via: "password")
        return .signedIn(user, token: session.token, csrfToken: session.csrfToken)
    }

    /// The sign-in cookie: HttpOnly, SameSite=Lax, Secure behind https.
    func cookie(token: String) -> Cookie {
        Cookie(
            name: AuthenticationMiddleware.cookieName, value: token, maxAge: Int(store.signIns.absoluteTimeout), path: "/", secure: secureCookies,
            httpOnly: true, sameSite: .lax
        )
    }

    /// Replaces the sign-in cookie with an expired, empty one.
    var clearedCookie: Cookie {
        Cookie(name: AuthenticationMiddleware.cookieName, value: "", maxAge: 0, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax)
    }
}

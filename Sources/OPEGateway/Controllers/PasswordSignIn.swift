import Foundation
import Hummingbird
import OPECore
import OPEStore

/// Signing in with a password, shared by the JSON API and the sign-in page: the throttle, the
/// check, the record of a failure, the new sign-in and its cookie.
struct PasswordSignIn: Sendable {
    enum Outcome: Sendable {
        case signedIn(User, SignIn.Issued)
        case wrongPassword
        /// Too many failures; try again after this many seconds.
        case throttled(seconds: Int)
    }

    let accounts: any AccountDirectory
    let throttle: LoginThrottle
    let secureCookies: Bool

    func attempt(username raw: String, password: String, address: String?) async throws -> Outcome {
        let username = raw.trimmingCharacters(in: .whitespaces).lowercased()
        if let wait = await throttle.retryAfter(username: username, address: address) {
            return .throttled(seconds: max(1, DurationText.seconds(wait) + 1))
        }
        guard let user = try await accounts.authenticate(username: username, password: password) else {
            await throttle.recordFailure(username: username, address: address)
            try await accounts.recordSignInFailure(username: username, address: address)
            return .wrongPassword
        }
        await throttle.recordSuccess(username: username, address: address)
        return .signedIn(user, try await accounts.startSignIn(for: user, address: address, via: "password"))
    }

    /// The cookie of a new sign-in: HttpOnly, SameSite=Lax, Secure behind https, kept by the
    /// browser as long as the sign-in can live.
    func cookie(for signIn: SignIn.Issued) -> Cookie {
        Cookie(
            name: AuthenticationMiddleware.cookieName, value: signIn.token, maxAge: Int(signIn.lifetime), path: "/", secure: secureCookies,
            httpOnly: true, sameSite: .lax
        )
    }

    /// Replaces the sign-in cookie with an expired, empty one.
    var clearedCookie: Cookie {
        Cookie(name: AuthenticationMiddleware.cookieName, value: "", maxAge: 0, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax)
    }
}

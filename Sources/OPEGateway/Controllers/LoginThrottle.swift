import Foundation
import OPECore

/// Slows down password guessing by ``SignInThrottle``'s rules, on the platform's clock: an
/// attempt that comes too soon is answered 429 with Retry-After, a delay and never a lock-out.
actor LoginThrottle {
    private var state = SignInThrottle()
    private let clock: any PlatformClock

    init(clock: any PlatformClock = SystemClock()) {
        self.clock = clock
    }

    /// How long the caller must wait before trying `username` from `address`, or nil.
    func retryAfter(username: String, address: String?) -> Duration? {
        state.wait(username: username, address: address, now: clock.now).map { .milliseconds(Int64(($0 * 1000).rounded(.up))) }
    }

    func recordFailure(username: String, address: String?) {
        state.failed(username: username, address: address, now: clock.now)
    }

    /// A successful sign-in forgives the user's mistakes from that address and remembers it.
    func recordSuccess(username: String, address: String?) {
        state.succeeded(username: username, address: address, now: clock.now)
    }
}

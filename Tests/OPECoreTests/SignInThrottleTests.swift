import Foundation
import OPECore
import Testing

/// Guessing is slowed, but nobody can lock a person out: delays that double and stop at a cap,
/// counted per username and address, per address, and per username from unknown addresses.
@Suite struct SignInThrottleTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aGuesserIsSlowedMoreAndMoreButNeverLockedOut() {
        var throttle = SignInThrottle()
        var now = start
        for _ in 0..<5 { throttle.failed(username: "alice", address: "10.0.0.9", now: now) }
        #expect(throttle.wait(username: "alice", address: "10.0.0.9", now: now) == 1)
        for _ in 0..<5 { throttle.failed(username: "alice", address: "10.0.0.9", now: now) }
        #expect(throttle.wait(username: "alice", address: "10.0.0.9", now: now) == 32)
        for _ in 0..<20 { throttle.failed(username: "alice", address: "10.0.0.9", now: now) }
        // 30 failures from an address alice never signed in from also count against her username.
        #expect(throttle.wait(username: "alice", address: "10.0.0.9", now: now) == 900, "the wait stops at its cap")
        now += 900
        #expect(throttle.wait(username: "alice", address: "10.0.0.9", now: now) == nil, "after the wait, a try")
        throttle.succeeded(username: "alice", address: "10.0.0.9", now: now)
        throttle.failed(username: "alice", address: "10.0.0.9", now: now)
        #expect(throttle.wait(username: "alice", address: "10.0.0.9", now: now) == nil, "a success forgives")
    }

    @Test func wrongPasswordsFromElsewhereDoNotLockTheInstructorOutOfTheirOwnComputer() {
        var throttle = SignInThrottle()
        throttle.succeeded(username: "teacher", address: "192.168.1.20", now: start)
        let attack = start + 86_400
        for attacker in 0..<50 { throttle.failed(username: "teacher", address: "203.0.113.\(attacker)", now: attack) }
        #expect(throttle.wait(username: "teacher", address: "192.168.1.20", now: attack) == nil, "the instructor's own computer")
        // From a new place the spray slows the instructor down too, for a bounded time.
        let fresh = throttle.wait(username: "teacher", address: "198.51.100.7", now: attack)
        #expect(fresh.map { $0 > 0 && $0 <= 900 } == true, "\(String(describing: fresh))")
        #expect(throttle.wait(username: "teacher", address: "198.51.100.7", now: attack + 900) == nil)
    }

    @Test func aClassBehindOneAddressDoesNotStopItself() {
        var throttle = SignInThrottle()
        for student in 0..<60 { throttle.failed(username: "student\(student)", address: "10.1.1.1", now: start) }
        #expect(throttle.wait(username: "student60", address: "10.1.1.1", now: start) == nil)
        #expect(throttle.wait(username: "student3", address: "10.1.1.1", now: start) == nil, "one mistake each is nothing")
        // One address trying account after account is slowed, from the 100th failure on.
        for account in 0..<60 { throttle.failed(username: "victim\(account)", address: "10.1.1.1", now: start) }
        #expect((throttle.wait(username: "anyone", address: "10.1.1.1", now: start) ?? 0) > 0)
    }
}

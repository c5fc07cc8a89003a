import Foundation
import OPECore
import Testing

@Suite struct IdlePolicyTests {
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    /// `seconds` after the start.
    func at(_ seconds: TimeInterval) -> Date { start.addingTimeInterval(seconds) }

    @Test func onlyWorkspacesQuietForTheWholeTimeoutAreIdle() {
        let policy = IdlePolicy(timeout: .seconds(1800))
        let running = ["s-a": start, "s-b": start, "s-c": at(1000)]
        let activity = ["s-a": at(100), "s-b": at(1500)]
        // s-a: quiet since 100 s; s-b since 1500 s; s-c never used, ready at 1000 s.
        #expect(policy.idle(running: running, lastActivity: activity, now: at(1899)).isEmpty)
        #expect(policy.idle(running: running, lastActivity: activity, now: at(1900)) == ["s-a"])
        #expect(policy.idle(running: running, lastActivity: activity, now: at(3300)) == ["s-a", "s-c", "s-b"])
    }

    @Test func activityFromBeforeARestartDoesNotCount() {
        let policy = IdlePolicy(timeout: .seconds(60))
        // Restarted at 500 s; the last request was at 10 s, before the restart.
        let idle = policy.idle(running: ["s-a": at(500)], lastActivity: ["s-a": at(10)], now: at(520))
        #expect(idle.isEmpty)
    }

    @Test func checksOftenEnoughForShortTimeouts() {
        #expect(IdlePolicy(timeout: .seconds(2)).checkInterval == .milliseconds(500))
        #expect(IdlePolicy(timeout: .seconds(3600)).checkInterval == .seconds(30))
    }
}

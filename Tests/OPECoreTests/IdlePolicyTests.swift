import OPECore
import Testing

@Suite struct IdlePolicyTests {
    let start = ContinuousClock.now

    @Test func onlyWorkspacesQuietForTheWholeTimeoutAreIdle() {
        let policy = IdlePolicy(timeout: .seconds(1800))
        let running = ["s-a": start, "s-b": start, "s-c": start + .seconds(1000)]
        let activity = ["s-a": start + .seconds(100), "s-b": start + .seconds(1500)]
        // s-a: quiet since 100 s; s-b since 1500 s; s-c never used, ready at 1000 s.
        #expect(policy.idle(running: running, lastActivity: activity, now: start + .seconds(1899)).isEmpty)
        #expect(policy.idle(running: running, lastActivity: activity, now: start + .seconds(1900)) == ["s-a"])
        #expect(policy.idle(running: running, lastActivity: activity, now: start + .seconds(3300)) == ["s-a", "s-c", "s-b"])
    }

    @Test func activityFromBeforeARestartDoesNotCount() {
        let policy = IdlePolicy(timeout: .seconds(60))
        // Restarted at 500 s; the last request was at 10 s, before the restart.
        let idle = policy.idle(running: ["s-a": start + .seconds(500)], lastActivity: ["s-a": start + .seconds(10)], now: start + .seconds(520))
        #expect(idle.isEmpty)
    }

    @Test func checksOftenEnoughForShortTimeouts() {
        #expect(IdlePolicy(timeout: .seconds(2)).checkInterval == .milliseconds(500))
        #expect(IdlePolicy(timeout: .seconds(3600)).checkInterval == .seconds(30))
    }
}

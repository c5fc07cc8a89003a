import OPECore
import Testing

@Suite struct FailureWindowTests {
    let start = ContinuousClock.now

    @Test func allowsUntilTheLimitThenRefusesUntilTheOldestFailureExpires() {
        var window = FailureWindow(limit: 3, window: .seconds(60))
        for second in 0..<3 {
            #expect(window.retryAfter(now: start + .seconds(second)) == nil)
            window.recordFailure(now: start + .seconds(second))
        }
        #expect(window.retryAfter(now: start + .seconds(10)) == .seconds(50))
        #expect(window.retryAfter(now: start + .seconds(59)) == .seconds(1))
        // The first failure has left the window: one more attempt is allowed.
        #expect(window.retryAfter(now: start + .seconds(60)) == nil)
        #expect(window.failures.count == 2)
    }

    @Test func forgetsEverythingAfterTheWindow() {
        var window = FailureWindow(limit: 2, window: .seconds(10))
        window.recordFailure(now: start)
        window.recordFailure(now: start + .seconds(1))
        #expect(window.retryAfter(now: start + .seconds(2)) != nil)
        #expect(window.retryAfter(now: start + .seconds(11)) == nil)
        #expect(window.isEmpty)
    }
}

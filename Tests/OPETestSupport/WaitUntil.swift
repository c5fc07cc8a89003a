/// Waits for something no event announces to the test (a real process getting somewhere, a
/// watch catching up): checks `condition` until it holds, and fails naming `what` once `timeout`
/// has passed. The bound only ends a wait for what is not coming; under load the wait is longer,
/// never wrong. The one polling loop of the test targets: waits with something to wait on (a
/// socket, a stream) wait on that instead.
public func waitUntil(_ what: String, timeout: Duration = .seconds(120), _ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        // Between checks only: how often to look, not how long anything takes.
        try await Task.sleep(for: .milliseconds(50))
    }
    throw WaitFailure("\(what) did not happen within \(timeout)")
}

/// A wait in a test that ended without what it waited for, in words.
public struct WaitFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

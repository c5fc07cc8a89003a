/// Counts failures in a sliding time window and says when to refuse: the pure core of login
/// rate limiting (the clock is passed in, so tests never sleep).
public struct FailureWindow: Sendable, Hashable {
    public var limit: Int
    public var window: Duration
    /// Times of recent failures, oldest first.
    public private(set) var failures: [ContinuousClock.Instant] = []

    public init(limit: Int, window: Duration) {
        self.limit = limit
        self.window = window
    }

    /// Records one failure at `now`.
    public mutating func recordFailure(now: ContinuousClock.Instant) {
        prune(now: now)
        failures.append(now)
    }

    /// How long until another attempt is allowed, or nil if it is allowed now.
    public mutating func retryAfter(now: ContinuousClock.Instant) -> Duration? {
        prune(now: now)
        guard failures.count >= limit, let oldest = failures.first else { return nil }
        return oldest.advanced(by: window) - now
    }

    /// Whether nothing is remembered any more (so the owner can drop this window).
    public var isEmpty: Bool { failures.isEmpty }

    private mutating func prune(now: ContinuousClock.Instant) {
        while let first = failures.first, now - first >= window { failures.removeFirst() }
    }
}

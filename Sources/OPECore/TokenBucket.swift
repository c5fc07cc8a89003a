import Foundation

/// Allows bursts up to `capacity` and a steady `rate` per second after that: the per-connection
/// message limit of a team room. Time is passed in, so tests never sleep.
public struct TokenBucket: Sendable, Hashable {
    public let capacity: Double
    public let rate: Double
    private var tokens: Double
    private var last: Date?

    public init(capacity: Double, rate: Double) {
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
    }

    /// Takes one token if there is one; otherwise returns how long until there will be.
    public mutating func take(now: Date) -> Duration? {
        if let last {
            // A wall clock set back must not take tokens away.
            let seconds = max(0, now.timeIntervalSince(last))
            tokens = min(capacity, tokens + seconds * rate)
        }
        last = now
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        return .milliseconds(Int(((1 - tokens) / rate * 1000).rounded(.up)))
    }
}

/// A circuit breaker for one outside endpoint: after `threshold` failures in a row it opens and
/// calls are not attempted for `cooldown` seconds; then one probe is let through (half-open),
/// and its outcome closes or re-opens the circuit. Pure: the caller passes the time.
public struct CircuitBreaker: Sendable, Hashable {
    public enum State: String, Sendable, Hashable {
        case closed, open, halfOpen = "half_open"

        /// For the `/metrics` gauge: 0 closed, 1 half-open, 2 open.
        public var gaugeValue: Int { self == .closed ? 0 : self == .halfOpen ? 1 : 2 }
    }

    public let threshold: Int
    public let cooldown: Double
    public private(set) var state: State = .closed
    public private(set) var consecutiveFailures = 0
    var openedAt: Double = 0
    var probing = false

    public init(threshold: Int, cooldown: Double) {
        self.threshold = max(1, threshold)
        self.cooldown = cooldown
    }

    /// Whether a call may go out now; in half-open state only one probe at a time.
    public mutating func allow(now: Double) -> Bool {
        switch state {
        case .closed:
            return true
        case .open:
            guard now - openedAt >= cooldown else { return false }
            state = .halfOpen
            probing = true
            return true
        case .halfOpen:
            guard !probing else { return false }
            probing = true
            return true
        }
    }

    /// When an open circuit lets the next probe through.
    public var retryAt: Double? { state == .open ? openedAt + cooldown : nil }

    /// A call succeeded; returns the new state if it changed.
    public mutating func succeeded() -> State? {
        consecutiveFailures = 0
        probing = false
        guard state != .closed else { return nil }
        state = .closed
        return .closed
    }

    /// A call failed; returns the new state if it changed.
    public mutating func failed(now: Double) -> State? {
        consecutiveFailures += 1
        probing = false
        switch state {
        case .halfOpen:
            state = .open
            openedAt = now
            return nil
        case .closed where consecutiveFailures >= threshold:
            state = .open
            openedAt = now
            return .open
        default:
            return nil
        }
    }
}

/// Exponential backoff with full jitter: attempt n waits a random time up to `base × 2ⁿ`,
/// capped, so that many sessions retrying one endpoint do not retry in step.
public struct RetryPolicy: Sendable, Hashable {
    public var base: Double
    public var cap: Double

    public init(base: Double = 0.5, cap: Double = 30) {
        self.base = base
        self.cap = cap
    }

    /// Seconds to wait before attempt `attempt` (1 = the first retry); `unit` is a random number in 0..<1.
    public func delay(attempt: Int, unit: Double) -> Double {
        let ceiling = min(cap, base * Double(1 << min(max(attempt - 1, 0), 20)))
        // At least a tenth of the ceiling, so a retry never fires instantly.
        return ceiling * (0.1 + 0.9 * unit)
    }
}

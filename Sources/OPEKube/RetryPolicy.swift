/// How the client retries a request the server could not take now (429, 5xx, a broken connection):
/// exponential backoff from `baseDelay`, doubled each time up to `maxDelay`, or the server's `Retry-After`
/// when it says one (also capped), for at most `maxAttempts` tries.
public struct RetryPolicy: Sendable, Hashable {
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    public init(maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(10)) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// No retries: every failure reaches the caller.
    public static let never = RetryPolicy(maxAttempts: 1)

    /// The pause before try number `attempt + 1` (attempt counts from 1).
    public func delay(afterAttempt attempt: Int, retryAfterSeconds: Int?) -> Duration {
        if let seconds = retryAfterSeconds { return min(.seconds(seconds), maxDelay) }
        var delay = baseDelay
        for _ in 1..<min(max(1, attempt), 40) { delay = min(delay * 2, maxDelay) }
        return delay
    }
}

import Foundation

/// Decides which workspaces have been idle long enough to stop: the pure core of idle culling
/// (the clock is passed in, so tests never sleep).
public struct IdlePolicy: Sendable, Hashable {
    /// Nothing for this long means idle.
    public var timeout: Duration

    public init(timeout: Duration) { self.timeout = timeout }

    /// The sessions among `running` whose last activity is `timeout` or more before `now`, oldest
    /// first. A session never seen active counts from `since` (when it became ready).
    public func idle(running: [String: Date], lastActivity: [String: Date], now: Date) -> [String] {
        let limit = timeout.timeInterval
        return running.compactMap { session, since -> (String, Date)? in
            let last = max(since, lastActivity[session] ?? since)
            return now.timeIntervalSince(last) >= limit ? (session, last) : nil
        }
        .sorted { ($0.1, $0.0) < ($1.1, $1.0) }
        .map(\.0)
    }

    /// How often to look: often enough to stop within a quarter of the timeout, at most every 30 s.
    public var checkInterval: Duration { min(.seconds(30), timeout / 4) }
}

import Foundation

/// Counts something a member does often (refused frames, terminal input) so the record gets one
/// event for the first and then at most one per `window`, with how many there were, instead of one
/// per frame. What is still counted when the socket closes is drained into a last event.
struct ActivityTally: Sendable {
    let window: TimeInterval
    private var recordedAt: Date?
    private var count = 0
    private var bytes = 0

    init(window: TimeInterval = 60) { self.window = window }

    /// One more; the totals to record now, if one is due.
    mutating func add(bytes size: Int, at now: Date) -> (count: Int, bytes: Int)? {
        count += 1
        bytes += size
        if let recordedAt, now.timeIntervalSince(recordedAt) < window { return nil }
        recordedAt = now
        return drain()
    }

    /// What is counted and not yet recorded.
    mutating func drain() -> (count: Int, bytes: Int)? {
        guard count > 0 else { return nil }
        defer {
            count = 0
            bytes = 0
        }
        return (count, bytes)
    }
}

import Foundation
import OPECore

/// The keys of objects to reconcile, as controller-runtime's rate-limited queue keeps them: a key
/// waits at most once however often it is added, a key being reconciled is not handed out again
/// until it is done (and goes back once if it changed meanwhile), and a failed key comes back
/// after a backoff that doubles with each failure.
///
/// Delays are kept as due times; ``promote(now:)`` moves the due ones to the front of the line, so
/// the queue itself never sleeps and a test drives it with its own clock.
public actor WorkQueue {
    private var ready: [String] = []
    private var head = 0
    private var queued: Set<String> = []
    private var processing: Set<String> = []
    private var dirty: Set<String> = []
    private var delayed: [String: Date] = [:]
    private var failures: [String: Int] = [:]
    private var waiters: [CheckedContinuation<String?, Never>] = []
    private var closed = false
    public let backoff: RetryPolicy

    public init(backoff: RetryPolicy = RetryPolicy(maxAttempts: .max, baseDelay: .milliseconds(100), maxDelay: .seconds(120))) {
        self.backoff = backoff
    }

    /// Queues `key` now (once, however often it is added).
    public func add(_ key: String) {
        guard !closed else { return }
        if processing.contains(key) {
            dirty.insert(key)
            return
        }
        guard queued.insert(key).inserted else { return }
        delayed[key] = nil
        if let waiter = waiters.first {
            waiters.removeFirst()
            queued.remove(key)
            processing.insert(key)
            waiter.resume(returning: key)
            return
        }
        ready.append(key)
    }

    /// Queues `key` once `time` has come (an earlier due time wins; a key already waiting stays).
    public func add(_ key: String, at time: Date) {
        guard !closed, !queued.contains(key) else { return }
        if let due = delayed[key], due <= time { return }
        delayed[key] = time
    }

    /// Moves every key due by `now` into the line.
    public func promote(now: Date) {
        let due = delayed.filter { $0.value <= now }.sorted { ($0.value, $0.key) < ($1.value, $1.key) }
        for (key, _) in due {
            delayed[key] = nil
            add(key)
        }
    }

    /// The earliest due time of a delayed key.
    public var nextDue: Date? { delayed.values.min() }

    /// The next key to reconcile; waits for one; nil once the queue is closed.
    public func next() async -> String? {
        if let key = take() { return key }
        if closed { return nil }
        return await withCheckedContinuation { waiters.append($0) }
    }

    private func take() -> String? {
        guard head < ready.count else { return nil }
        let key = ready[head]
        head += 1
        if head > 1024, head * 2 > ready.count {
            ready.removeFirst(head)
            head = 0
        }
        queued.remove(key)
        processing.insert(key)
        return key
    }

    /// The reconcile of `key` has ended; if it was added meanwhile, it goes back in line.
    public func done(_ key: String) {
        processing.remove(key)
        if dirty.remove(key) != nil { add(key) }
    }

    /// The reconcile of `key` failed: it comes back after a backoff (doubling per failure in a row).
    @discardableResult
    public func retry(_ key: String, now: Date, retryAfterSeconds: Int? = nil) -> Duration {
        let count = (failures[key] ?? 0) + 1
        failures[key] = count
        let delay = backoff.delay(afterAttempt: count, retryAfterSeconds: retryAfterSeconds)
        add(key, at: now.addingTimeInterval(delay.timeInterval))
        return delay
    }

    /// `key` succeeded: its next failure starts the backoff afresh.
    public func forget(_ key: String) { failures[key] = nil }

    /// How many failures in a row `key` has had.
    public func failureCount(_ key: String) -> Int { failures[key] ?? 0 }

    /// Keys waiting now (not those delayed or being reconciled).
    public var depth: Int { ready.count - head }

    /// No more keys: waiting consumers get nil.
    public func close() {
        closed = true
        let waiting = waiters
        waiters = []
        for waiter in waiting { waiter.resume(returning: nil) }
    }
}

import Synchronization

/// Holds an edge's calls to one core to a number in flight; the rest wait their turn, first come
/// first served, each at most until its own deadline.
///
/// Thousands of sockets opening together (a class starting, a reconnect storm) would otherwise put
/// thousands of calls on the wire at once, each with its HTTP/2 stream, deadline timer and tasks on
/// both sides: an edge's memory at its peak was mostly calls in flight (heaptrack, 1,000 sockets
/// opening through one edge: 13,600 calls at once). A waiting call costs a continuation.
///
/// A waiter's deadline is checked when a slot frees, so one may wait a little past it while every
/// call in flight is slow; those end by their own deadlines. A cancelled waiter keeps its place
/// until then.
final class CallGate: Sendable {
    private struct Waiter {
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var inFlight = 0
        var waiting: [Waiter] = []
        /// Index of the first waiter still waiting (the array is compacted now and then).
        var head = 0

        mutating func next() -> Waiter? {
            guard head < waiting.count else { return nil }
            let waiter = waiting[head]
            head += 1
            if head == waiting.count {
                waiting.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024, head * 2 >= waiting.count {
                waiting.removeFirst(head)
                head = 0
            }
            return waiter
        }
    }

    /// Most calls in flight at once.
    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        precondition(limit > 0)
        self.limit = limit
    }

    /// Calls in flight and waiting, for tests and metrics.
    var counts: (inFlight: Int, waiting: Int) { state.withLock { ($0.inFlight, $0.waiting.count - $0.head) } }

    /// Waits for a slot; false if `deadline` passed first (then no slot is held).
    func enter(until deadline: ContinuousClock.Instant) async -> Bool {
        let now = state.withLock { state in
            guard state.inFlight < limit else { return false }
            state.inFlight += 1
            return true
        }
        if now { return true }
        return await withCheckedContinuation { continuation in
            let admitted = state.withLock { state in
                guard state.inFlight < limit else {
                    state.waiting.append(Waiter(deadline: deadline, continuation: continuation))
                    return false
                }
                state.inFlight += 1
                return true
            }
            if admitted { continuation.resume(returning: true) }
        }
    }

    /// Gives the slot back: to the first waiter whose deadline has not passed, if any.
    func leave() {
        var expired: [Waiter] = []
        let next: Waiter? = state.withLock { state in
            let now = ContinuousClock.now
            while let waiter = state.next() {
                if waiter.deadline > now { return waiter }
                expired.append(waiter)
            }
            state.inFlight -= 1
            return nil
        }
        for waiter in expired { waiter.continuation.resume(returning: false) }
        // The slot passes to it as it is: the count in flight stays.
        next?.continuation.resume(returning: true)
    }
}

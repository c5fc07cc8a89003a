import Synchronization

/// Whether this process may reconcile now, and a wait for the moment it may: workers pass through
/// it before taking a key, so a process that does not lead keeps its caches warm and writes nothing.
public final class LeadershipGate: Sendable {
    private struct State {
        var leading: Bool
        var closed = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    public init(leading: Bool = false) { state = Mutex(State(leading: leading)) }

    public var isLeading: Bool { state.withLock { $0.leading && !$0.closed } }

    public func set(_ leading: Bool) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.leading = leading
            guard leading else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Shutting down: every wait returns, and nobody leads any more.
    public func close() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.closed = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once this process leads (at once if it does), or the gate is closed.
    public func waitUntilLeading() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.leading || state.closed { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}

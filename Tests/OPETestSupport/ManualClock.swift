import Foundation
import OPECore
import Synchronization

/// A clock that stands still until the test moves it on, for every timer of a test server or operator (the
/// lobby's settle and give-up, rotations, grace periods, bot plans, external-bot retries, idle
/// culling, room rate limits). What those timers decide then depends on the test's steps, never on
/// how busy the machine is.
///
/// It starts at the real time, so its stamps look like the real ones next to them.
public final class ManualClock: PlatformClock {
    private enum Sleeper {
        case waiting(Date, CheckedContinuation<Void, any Error>)
        /// Cancelled before its continuation was stored.
        case cancelled
    }

    private struct State {
        var now: Date
        var sleepers: [UUID: Sleeper] = [:]
    }

    private let state: Mutex<State>

    public init(now: Date = Date()) {
        state = Mutex(State(now: now))
    }

    public var now: Date { state.withLock { $0.now } }

    public func sleep(until deadline: Date) async throws {
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome { case due, cancelled, waiting }
                let outcome = state.withLock { state -> Outcome in
                    if case .cancelled? = state.sleepers[id] {
                        state.sleepers[id] = nil
                        return .cancelled
                    }
                    if deadline <= state.now { return .due }
                    state.sleepers[id] = .waiting(deadline, continuation)
                    return .waiting
                }
                switch outcome {
                case .due: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .waiting: break
                }
            }
        } onCancel: {
            let waiting = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                if case .waiting(_, let continuation)? = state.sleepers[id] {
                    state.sleepers[id] = nil
                    return continuation
                }
                state.sleepers[id] = .cancelled
                return nil
            }
            waiting?.resume(throwing: CancellationError())
        }
    }

    /// Moves time on by `duration` and wakes whoever waited for a moment up to the new time. The
    /// woken timers run on their own tasks: wait for what they do, not for a fixed time.
    public func advance(by duration: Duration) {
        let due = state.withLock { state -> [(Date, CheckedContinuation<Void, any Error>)] in
            state.now = state.now.addingTimeInterval(duration.timeInterval)
            var due: [(Date, CheckedContinuation<Void, any Error>)] = []
            for (id, sleeper) in state.sleepers {
                guard case .waiting(let deadline, let continuation) = sleeper, deadline <= state.now else { continue }
                state.sleepers[id] = nil
                due.append((deadline, continuation))
            }
            return due.sorted { $0.0 < $1.0 }
        }
        for (_, continuation) in due { continuation.resume() }
    }

    /// Moves time on in `step`s until `condition` holds, for timer-driven work whose exact schedule
    /// the test does not care about (deliveries, retries, backoff): every step lets the timers due
    /// by then run. Real time only bounds a hang; a busy machine just takes more steps.
    public func advance(
        by step: Duration, until what: String, timeout: Duration = .seconds(120), _ condition: @Sendable () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw WaitFailure("\(what) did not happen within \(timeout) (real time)") }
            advance(by: step)
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

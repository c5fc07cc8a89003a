import Foundation

/// Where the platform's timer-driven parts get the time from, and how they wait for it to pass:
/// the lobby and session timers, the bots' ticks, external-bot retries, idle culling and the
/// room's rate limits all read `now` and sleep through one of these.
///
/// Production runs on ``SystemClock``. Tests inject a manual clock that stands still until the test
/// moves it on, so what the platform decides never depends on how busy the machine is.
public protocol PlatformClock: Sendable {
    /// The current time. Events are stamped with it and every "how long since" decision uses it.
    var now: Date { get }

    /// Returns once ``now`` has reached `deadline`, at once if it already has.
    ///
    /// - Throws: `CancellationError` when the task is cancelled while it waits.
    func sleep(until deadline: Date) async throws
}

extension PlatformClock {
    /// Waits until `duration` of this clock's time has passed.
    public func sleep(for duration: Duration) async throws {
        try await sleep(until: now.addingTimeInterval(duration.timeInterval))
    }
}

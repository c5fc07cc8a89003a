import Foundation

/// The real time: `Date()` for ``now``, and `Task.sleep` (monotonic) for the waits.
public struct SystemClock: PlatformClock {
    public init() {}

    public var now: Date { Date() }

    public func sleep(until deadline: Date) async throws {
        let seconds = deadline.timeIntervalSinceNow
        guard seconds > 0 else {
            try Task.checkCancellation()
            return
        }
        try await Task.sleep(for: .seconds(seconds))
    }
}

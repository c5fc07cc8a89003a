import Foundation
import OPECore
import ServiceLifecycle

extension Service {
    /// Runs `pass` every `interval` of `clock`'s time until graceful shutdown. The next pass is due
    /// an interval after this one began, so time that moved on while it ran (a test advancing its
    /// clock) is never skipped; `pass` gets the time it began at.
    public func every(_ interval: Duration, on clock: any PlatformClock, _ pass: @escaping @Sendable (Date) async -> Void) async {
        // Cancelled at graceful shutdown; a sleep cut short just ends the loop.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let began = clock.now
                await pass(began)
                try await clock.sleep(until: began.addingTimeInterval(interval.timeInterval))
            }
        }
    }
}

import Foundation
import Logging
import OPECore
import ServiceLifecycle

/// Runs the lobby and session timers (matching passes, give-ups, rotations, abandonment) at a
/// fixed interval of `clock`'s time for as long as the server runs.
struct SessionTicker: Service {
    let sessions: SessionManager
    let interval: Duration
    let clock: any PlatformClock
    let logger: Logger

    func run() async throws {
        // Cancelled at graceful shutdown; a sleep cut short just ends the loop.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                // The next pass is due an interval after this one began, so time moved on while
                // it ran (a test advancing its clock) is never skipped.
                let began = clock.now
                do {
                    try await sessions.tick()
                } catch {
                    logger.error("session timers failed; retrying", metadata: ["error": "\(error)"])
                }
                try await clock.sleep(until: began.addingTimeInterval(interval.timeInterval))
            }
        }
    }
}

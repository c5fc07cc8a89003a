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
        await every(interval, on: clock) { _ in
            do {
                try await sessions.tick()
            } catch {
                logger.error("session timers failed; retrying", metadata: ["error": "\(error)"])
            }
        }
    }
}

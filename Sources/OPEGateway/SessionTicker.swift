import Logging
import ServiceLifecycle

/// Runs the lobby and session timers (matching passes, give-ups, rotations, abandonment) at a
/// fixed interval for as long as the server runs.
struct SessionTicker: Service {
    let sessions: SessionManager
    let interval: Duration
    let logger: Logger

    func run() async throws {
        // Cancelled at graceful shutdown; a sleep cut short just ends the loop.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await sessions.tick()
                } catch {
                    logger.error("session timers failed; retrying", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}

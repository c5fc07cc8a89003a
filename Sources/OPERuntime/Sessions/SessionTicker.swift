import Foundation
import Logging
import OPECore
import OPEStore
import ServiceLifecycle

/// Drives the session manager for as long as the server runs: the lobby and session timers
/// (matching passes, give-ups, rotations, abandonment) every `interval` of `clock`'s time, and the
/// workspaces' reports from the log, in one queue so the manager sees them in one order.
struct SessionTicker: Service {
    let sessions: SessionManager
    let events: EventLog
    /// Whether a new session could get its workspace now (the lobby forms groups only then).
    let canStart: @Sendable () -> Bool
    let interval: Duration
    let clock: any PlatformClock
    let logger: Logger

    private enum Work: Sendable {
        case events([Event])
        case tick
    }

    func run() async throws {
        let (queue, enqueue) = AsyncStream.makeStream(of: Work.self, bufferingPolicy: .unbounded)
        // Only what the manager acts on is queued: a batch without any (most of them: chat) wakes nothing.
        let relevant: @Sendable ([Event]) -> Work? = { batch in
            let observed = batch.filter(SessionManager.observes)
            return observed.isEmpty ? nil : .events(observed)
        }
        await withEventFeed(from: events, into: enqueue, clock: clock, tick: interval, events: relevant, tick: .tick) { _ in
            for await work in queue {
                do {
                    switch work {
                    case .events(let batch): try await sessions.observe(batch)
                    case .tick: try await sessions.tick(canStart: canStart())
                    }
                } catch {
                    logger.error("session timers failed; retrying", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}

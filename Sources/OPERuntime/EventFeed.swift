import Foundation
import OPECore
import OPEStore
import ServiceLifecycle

/// Runs `body` while the log's committed event batches and a tick every `interval` of `clock`'s
/// time flow into `continuation`: one queue with one consumer, so a service sees events and time
/// in one order. `events` turns a batch into work, or nil for a batch the service does not act
/// on, which then wakes nobody. A graceful shutdown finishes `continuation`, so the consumer's
/// loop ends once it has taken what was queued (with no task beside it per item, as
/// `cancelOnGracefulShutdown()` would run). `body` may add child tasks to the group; they are
/// cancelled when it returns, and the subscription ends with it.
func withEventFeed<Work: Sendable>(
    from log: EventLog, into continuation: AsyncStream<Work>.Continuation, clock: any PlatformClock, tick interval: Duration,
    events: @escaping @Sendable ([Event]) -> Work?, tick: Work,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (inout TaskGroup<Void>) async -> Void
) async {
    let subscription = await log.subscribe { batch in
        if let work = events(batch) { continuation.yield(work) }
    }
    await withTaskGroup(of: Void.self) { group in
        group.addTask {
            var last = clock.now
            while !Task.isCancelled {
                // Due an interval after the last tick was sent: the consumer reads the clock when
                // it handles the tick, so time that moved on meanwhile is seen at the next one.
                do { try await clock.sleep(until: last.addingTimeInterval(interval.timeInterval)) } catch { break }
                last = clock.now
                continuation.yield(tick)
            }
        }
        await withGracefulShutdownHandler {
            await body(&group)
        } onGracefulShutdown: {
            continuation.finish()
        }
        group.cancelAll()
    }
    await log.unsubscribe(subscription)
}

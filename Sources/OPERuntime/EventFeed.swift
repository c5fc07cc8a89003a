import Foundation
import OPECore
import OPEStore

/// Runs `body` while the log's committed event batches and a tick every `interval` of `clock`'s
/// time flow into `continuation`: one queue with one consumer, so a service sees events and time
/// in one order. `body` may add child tasks to the group; they are cancelled when it returns, and
/// the subscription ends with it.
func withEventFeed<Work: Sendable>(
    from log: EventLog, into continuation: AsyncStream<Work>.Continuation, clock: any PlatformClock, tick interval: Duration,
    events: @escaping @Sendable ([Event]) -> Work, tick: Work,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (inout TaskGroup<Void>) async -> Void
) async {
    let subscription = await log.subscribe { continuation.yield(events($0)) }
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
        await body(&group)
        group.cancelAll()
    }
    await log.unsubscribe(subscription)
}

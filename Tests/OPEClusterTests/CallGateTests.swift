import OPETestSupport
import Synchronization
import Testing

@testable import OPECluster

/// An edge's calls to a core in flight are held to the gate's limit; the rest wait their turn in
/// order, and one whose deadline passes while waiting is told so instead of going out late.
@Suite struct CallGateTests {
    @Test func callsBeyondTheLimitWaitTheirTurnInOrder() async throws {
        let gate = CallGate(limit: 2)
        let far = ContinuousClock.now + .seconds(600)
        #expect(await gate.enter(until: far))
        #expect(await gate.enter(until: far))
        let admitted = Admitted()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<3 {
                group.addTask {
                    let entered = await gate.enter(until: far)
                    admitted.list.withLock { $0.append(entered ? index : -1) }
                }
                // Each waits before the next is added, so their order is known.
                try await waitUntil("waiter \(index) in line") { gate.counts.waiting == index + 1 }
            }
            #expect(gate.counts == (inFlight: 2, waiting: 3))
            gate.leave()
            try await waitUntil("the first waiter let in") { admitted.list.withLock { $0 } == [0] }
            #expect(gate.counts == (inFlight: 2, waiting: 2), "the slot passed on, not freed")
            gate.leave()
            gate.leave()
            try await waitUntil("every waiter let in, in order") { admitted.list.withLock { $0 } == [0, 1, 2] }
            try await group.waitForAll()
        }
        // Three left (the first two and the first waiter): the last two waiters hold the slots.
        for _ in 0..<2 { gate.leave() }
        #expect(gate.counts == (inFlight: 0, waiting: 0))
    }

    @Test func aWaiterPastItsDeadlineIsToldSoAndHoldsNoSlot() async throws {
        let gate = CallGate(limit: 1)
        #expect(await gate.enter(until: ContinuousClock.now + .seconds(600)))
        // A deadline already past: the gate is full, so it waits, and is told when a slot frees.
        async let late = gate.enter(until: ContinuousClock.now - .seconds(1))
        try await waitUntil("the late caller in line") { gate.counts.waiting == 1 }
        gate.leave()
        #expect(await late == false)
        #expect(gate.counts == (inFlight: 0, waiting: 0))
        #expect(await gate.enter(until: ContinuousClock.now + .seconds(600)), "the slot is free again")
    }

    /// The order waiters were let in (-1: told their deadline had passed).
    private final class Admitted: Sendable {
        let list = Mutex<[Int]>([])
    }
}

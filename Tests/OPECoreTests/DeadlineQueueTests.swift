import Foundation
import OPECore
import Testing

/// One deadline per key in a min-heap: what is due comes out in time order, moved deadlines count
/// only where they were moved to, and keys that wait are not handed out.
@Suite struct DeadlineQueueTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func dueKeysComeOutEarliestFirstAndTiesInTheOrderTheyWereSet() {
        var queue = DeadlineQueue<String>()
        queue.set("c", to: start.addingTimeInterval(3))
        queue.set("a", to: start.addingTimeInterval(1))
        queue.set("b2", to: start.addingTimeInterval(2))
        queue.set("b1", to: start.addingTimeInterval(2))
        queue.set("later", to: start.addingTimeInterval(60))
        #expect(queue.earliest() == start.addingTimeInterval(1))
        #expect(queue.takeDue(at: start.addingTimeInterval(0.999)) == [])
        #expect(queue.takeDue(at: start.addingTimeInterval(3)) == ["a", "b2", "b1", "c"])
        #expect(queue.count == 1)
        #expect(queue.deadline(of: "a") == nil, "a key that came out has no deadline until it is set again")
        #expect(queue.takeDue(at: start.addingTimeInterval(59)) == [])
        #expect(queue.takeDue(at: start.addingTimeInterval(60)) == ["later"])
        #expect(queue.isEmpty && queue.earliest() == nil)
    }

    @Test func aMovedOrClearedDeadlineCountsOnlyWhereItIsNow() {
        var queue = DeadlineQueue<String>()
        queue.set("moved", to: start.addingTimeInterval(1))
        queue.set("moved", to: start.addingTimeInterval(10))
        queue.set("cleared", to: start.addingTimeInterval(2))
        queue.set("cleared", to: nil)
        queue.set("back", to: start.addingTimeInterval(5))
        queue.set("back", to: start.addingTimeInterval(20))
        queue.set("back", to: start.addingTimeInterval(5))
        #expect(queue.earliest() == start.addingTimeInterval(5), "stale entries are not the earliest")
        #expect(queue.takeDue(at: start.addingTimeInterval(9)) == ["back"], "once, though set to 5 twice")
        #expect(queue.takeDue(at: start.addingTimeInterval(30)) == ["moved"])
    }

    /// Against a dictionary that is searched in full: the same keys come out, in time order, through
    /// thousands of random moves (which also make the heap rebuild itself).
    @Test func manyRandomMovesGiveWhatAFullSearchGives() {
        var queue = DeadlineQueue<Int>()
        var model: [Int: Date] = [:]
        var seed: UInt64 = 42
        func next(_ bound: UInt64) -> UInt64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (seed >> 33) % bound
        }
        var now = start
        for round in 0..<200 {
            for _ in 0..<50 {
                let key = Int(next(300))
                let due: Date? = next(10) == 0 ? nil : now.addingTimeInterval(Double(next(1000)) / 10)
                queue.set(key, to: due)
                model[key] = due
            }
            now = now.addingTimeInterval(Double(next(200)) / 10)
            let expected = model.filter { $0.value <= now }
            let taken = queue.takeDue(at: now)
            #expect(Set(taken) == Set(expected.keys), "round \(round)")
            #expect(taken.map { model[$0]! } == taken.map { model[$0]! }.sorted(), "in time order")
            for key in taken { model[key] = nil }
            #expect(queue.count == model.count)
            #expect(queue.earliest() == model.values.min())
        }
    }
}

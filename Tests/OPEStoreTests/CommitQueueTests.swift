import Testing

@testable import OPEStore

@Suite struct CommitQueueTests {
    @Test func onlyTheFirstAppendToAnIdleQueueStartsTheCommitter() {
        var queue = CommitQueue<Int, String>()
        let starts = [queue.enqueue(1), queue.enqueue(2), queue.enqueue(3)]
        #expect(starts == [true, false, false])
        #expect(queue.count == 3)
    }

    @Test func theCommitterTakesEverythingQueuedThenStopsAndTellsTheDrainWaiters() {
        var queue = CommitQueue<Int, String>()
        let waitedWhileIdle = queue.waitForIdle("before")
        #expect(!waitedWhileIdle, "an idle queue has nothing to wait for")
        _ = queue.enqueue(1)
        _ = queue.enqueue(2)
        guard case .commit(let first) = queue.next() else {
            Issue.record("expected a batch")
            return
        }
        #expect(first == [1, 2])
        // Queued while the first batch is written: the next batch, and a drain waits for it.
        let startedAnother = queue.enqueue(3)
        let waited = queue.waitForIdle("drain")
        #expect(!startedAnother && waited)
        guard case .commit(let second) = queue.next() else {
            Issue.record("expected a batch")
            return
        }
        #expect(second == [3])
        guard case .idle(let waiters) = queue.next() else {
            Issue.record("expected idle")
            return
        }
        #expect(waiters == ["drain"])
        // Stopped: the next append starts a committer again, and the waiter was told only once.
        let restarted = queue.enqueue(4)
        #expect(restarted)
        guard case .commit(let third) = queue.next(), case .idle(let none) = queue.next() else {
            Issue.record("expected a batch, then idle")
            return
        }
        #expect(third == [4])
        #expect(none.isEmpty)
    }
}

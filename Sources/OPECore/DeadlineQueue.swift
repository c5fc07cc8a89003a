import Foundation

/// One pending deadline per key, ordered by absolute time in a binary min-heap: setting or moving a
/// key's deadline costs O(log n), and taking the keys that are due costs O(log n) per due key, so
/// keys that wait cost nothing while time passes. Keys due at the same time come out in the order
/// their deadlines were set.
///
/// A key's earlier deadline is not searched for in the heap when it moves: the new one is pushed,
/// and the old entry is skipped when it surfaces (it no longer matches the key's deadline). The
/// heap is rebuilt when such stale entries outnumber the live ones.
public struct DeadlineQueue<Key: Hashable & Sendable>: Sendable {
    struct Entry: Sendable {
        var due: Date
        var order: UInt64
        var key: Key

        func precedes(_ other: Entry) -> Bool { (due, order) < (other.due, other.order) }
    }

    var heap: [Entry] = []
    /// Each key's current deadline and the order it was set in; the heap entry that matches both is live.
    var current: [Key: (due: Date, order: UInt64)] = [:]
    var nextOrder: UInt64 = 0

    public init() {}

    /// Keys with a deadline.
    public var count: Int { current.count }

    public var isEmpty: Bool { current.isEmpty }

    /// The key's deadline, if it has one.
    public func deadline(of key: Key) -> Date? { current[key]?.due }

    /// The earliest deadline of any key.
    public mutating func earliest() -> Date? {
        dropStale()
        return heap.first?.due
    }

    /// Sets the key's deadline (nil: none), replacing the one it had.
    public mutating func set(_ key: Key, to due: Date?) {
        guard let due else {
            current[key] = nil
            return
        }
        if current[key]?.due == due { return }
        let order = nextOrder
        nextOrder += 1
        current[key] = (due, order)
        push(Entry(due: due, order: order, key: key))
        if heap.count > 2 * current.count + 64 { rebuild() }
    }

    /// Takes the keys whose deadline is at or before `now`, earliest first; they have no deadline afterwards.
    public mutating func takeDue(at now: Date) -> [Key] {
        var due: [Key] = []
        while let top = heap.first, top.due <= now {
            pop()
            guard let live = current[top.key], live.order == top.order else { continue }
            current[top.key] = nil
            due.append(top.key)
        }
        return due
    }

    // MARK: Heap

    mutating func dropStale() {
        while let top = heap.first, current[top.key]?.order != top.order { pop() }
    }

    mutating func rebuild() {
        heap = current.map { Entry(due: $0.value.due, order: $0.value.order, key: $0.key) }
        heap.sort { $0.precedes($1) }
    }

    mutating func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var first = parent
            if left < heap.count, heap[left].precedes(heap[first]) { first = left }
            if right < heap.count, heap[right].precedes(heap[first]) { first = right }
            if first == parent { break }
            heap.swapAt(parent, first)
            parent = first
        }
    }
}

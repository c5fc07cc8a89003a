import Foundation
import OPECore
import OPERuntime
import Synchronization

/// One edge's room stream on a core (`Runtime.Rooms`): the rooms the edge has open and what is
/// waiting to be sent to it.
///
/// Everything for the edge goes through one outbox that the stream's writer empties into one
/// `RoomUpdates` at a time: the events of every commit since the last write, chat answers,
/// opened rooms and typing. Under load a write carries many of each; when idle, one each. Events
/// are filtered by the rooms open when the writer takes them, and a room's `opened` is queued
/// after its opening, so every update after `opened` carries all of the room's events.
final class RoomStream: Sendable {
    let id = UUID()

    /// An event of the core's log as every edge is sent it: encoded once for all of them, and only
    /// if it belongs to a room (the others only move the log position on).
    struct Committed: Sendable {
        var id: Int64
        /// The room and the encoded event, for an event of a session.
        var room: (session: String, message: Ope_Runtime_V1_Event)?

        init(_ event: Event) {
            id = event.id
            room = event.session.map { ($0, RuntimeWire.message(event)) }
        }
    }

    /// A chat message's answer, and whether its event alone can answer it instead: the event was
    /// committed for this message (see `RoomFollow.answers_in_events`).
    struct Answer: Sendable {
        var message: Ope_Runtime_V1_RoomChatAnswer
        var byEvent: Bool
    }

    /// What the writer sends next.
    struct Pending: Sendable {
        var batches: [[Committed]] = []
        var opened: [String] = []
        var answers: [Answer] = []
        var typing: [Ope_Runtime_V1_RoomTyping] = []

        var isEmpty: Bool { batches.isEmpty && opened.isEmpty && answers.isEmpty && typing.isEmpty }
    }

    private struct State {
        var rooms: Set<String> = []
        var pending = Pending()
        var finished = false
        /// The writer fell this far behind: the stream ends, the edge resumes from its position.
        var overflowed = false
    }

    private let state = Mutex(State())
    /// Wakes the writer; holds at most one wake-up (one pass empties everything queued).
    private let wake: AsyncStream<Void>.Continuation
    let wakes: AsyncStream<Void>
    /// Commit batches that may wait before the edge counts as too slow.
    let backlog: Int

    init(backlog: Int) {
        self.backlog = backlog
        (wakes, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: Rooms

    func follow(_ sessions: [String]) { state.withLock { $0.rooms.formUnion(sessions) } }

    /// Opens `session` for this edge and queues the answer that says so.
    func open(_ session: String) {
        enqueue { state in
            state.rooms.insert(session)
            state.pending.opened.append(session)
        }
    }

    func close(_ session: String) { _ = state.withLock { $0.rooms.remove(session) } }

    func has(_ session: String) -> Bool { state.withLock { $0.rooms.contains(session) } }

    // MARK: Queueing

    /// A commit batch of the core's log (filtered when taken).
    func committed(_ events: [Committed]) {
        enqueue { state in
            guard state.pending.batches.count < backlog else {
                state.overflowed = true
                state.finished = true
                return
            }
            state.pending.batches.append(events)
        }
    }

    func answer(_ answer: Ope_Runtime_V1_RoomChatAnswer, byEvent: Bool) {
        enqueue { $0.pending.answers.append(Answer(message: answer, byEvent: byEvent)) }
    }

    func typing(_ note: Ope_Runtime_V1_RoomTyping) { enqueue { $0.pending.typing.append(note) } }

    private func enqueue(_ change: (inout State) -> Void) {
        let live = state.withLock { state in
            guard !state.finished else { return false }
            change(&state)
            return true
        }
        if live { wake.yield() } else { wake.finish() }
    }

    /// Ends the stream (the core shuts down, or the edge went away).
    func finish() {
        state.withLock { $0.finished = true }
        wake.finish()
    }

    var overflowed: Bool { state.withLock { $0.overflowed } }

    /// Everything queued, its events filtered to the rooms open now; nil once finished.
    func take() -> (pending: Pending, rooms: Set<String>)? {
        state.withLock { state in
            if state.finished && state.pending.isEmpty { return nil }
            if state.overflowed { return nil }
            let pending = state.pending
            state.pending = Pending()
            return (pending, state.rooms)
        }
    }
}

/// The room streams a core serves: they share one subscription to the log (each event is encoded
/// once, however many edges there are), typing reaches the other edges, and a shutdown ends them all.
final class RoomStreams: Sendable {
    private let streams = Mutex<[UUID: RoomStream]>([:])
    private let closed = Atomic(false)
    private let subscription = Mutex<RuntimeSubscription?>(nil)

    /// Follows the runtime's log for the streams (before the first stream is served).
    func follow(_ runtime: Runtime) async {
        let new = await runtime.subscribe { [self] events in
            let streams = self.streams.withLock { Array($0.values) }
            guard !streams.isEmpty else { return }
            let committed = events.map(RoomStream.Committed.init)
            for stream in streams { stream.committed(committed) }
        }
        subscription.withLock { $0 = new }
    }

    func add(_ stream: RoomStream) {
        streams.withLock { $0[stream.id] = stream }
        if closed.load(ordering: .relaxed) { stream.finish() }
    }

    func remove(_ stream: RoomStream) { _ = streams.withLock { $0.removeValue(forKey: stream.id) } }

    /// Passes a member's typing to every other edge that has their room open.
    func relay(_ note: Ope_Runtime_V1_RoomTyping, from sender: RoomStream) {
        let others = streams.withLock { Array($0.values) }
        for stream in others where stream.id != sender.id && stream.has(note.session) { stream.typing(note) }
    }

    func finishAll() {
        closed.store(true, ordering: .relaxed)
        for stream in streams.withLock({ Array($0.values) }) { stream.finish() }
        if let subscription = subscription.withLock({ $0 }) { Task { await subscription.cancel() } }
    }
}

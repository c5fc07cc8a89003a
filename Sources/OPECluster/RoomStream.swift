import Foundation
import OPECore
import OPERuntime
import Synchronization

/// One edge's room stream on a core (`Runtime.Rooms`): the rooms the edge has open and what is
/// waiting to be sent to it.
///
/// Everything for the edge goes through one outbox that the stream's writer empties into one
/// `RoomUpdates` at a time: the events of every commit since the last write, chat answers,
/// opened rooms and typing. Under load a write carries many of each; when idle, one each. Only
/// the events of rooms open when they commit are queued (they are filtered again by the rooms
/// open when the writer takes them), and a room's `opened` is queued after its opening, so every
/// update after `opened` carries all of the room's events.
///
/// The writer is woken only for something to send: a commit of none of the edge's rooms moves
/// the log position on and wakes it at most once per `positionInterval`, and a chat answer the
/// edge needs no longer, since its event is on the way (`RoomFollow.answers_in_events`), wakes
/// nobody. Each wake is a thread woken on the core, for every edge and every commit.
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
        /// The events of the edge's rooms, per commit.
        var batches: [[Committed]] = []
        var opened: [String] = []
        var answers: [Answer] = []
        var typing: [Ope_Runtime_V1_RoomTyping] = []

        var isEmpty: Bool { batches.isEmpty && opened.isEmpty && answers.isEmpty && typing.isEmpty }
    }

    private struct State {
        var rooms: Set<String> = []
        var pending = Pending()
        /// The ids of the events in `pending`.
        var pendingIDs: Set<Int64> = []
        /// The ids of the room events the last two takes handed out (the newer first): an answer
        /// by one of them is not needed by an edge that matches its events.
        var taken: (Set<Int64>, Set<Int64>) = ([], [])
        /// The last event of the log delivered here, whether or not it was queued.
        var position: Int64 = 0
        /// When a commit of none of the edge's rooms last woke the writer.
        var positionWake: ContinuousClock.Instant?
        var answersInEvents = false
        var finished = false
        /// The writer fell this far behind: the stream ends, the edge resumes from its position.
        var overflowed = false
    }

    private let state = Mutex(State())
    /// Wakes the writer; holds at most one wake-up (one pass empties everything queued).
    private let wake: AsyncStream<Void>.Continuation
    let wakes: AsyncStream<Void>
    /// How many times the writer was woken (for tests).
    let wakeUps = Atomic(0)
    /// Commit batches that may wait before the edge counts as too slow.
    let backlog: Int
    /// How often a commit of none of the edge's rooms may wake the writer, to move its position on.
    let positionInterval: Duration

    init(backlog: Int, positionInterval: Duration) {
        self.backlog = backlog
        self.positionInterval = positionInterval
        (wakes, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: Rooms

    /// The edge's first request: the rooms it has open, and how it wants chat answers.
    func follow(_ follow: Ope_Runtime_V1_RoomFollow) {
        state.withLock { state in
            state.rooms.formUnion(follow.sessions)
            state.answersInEvents = follow.answersInEvents
        }
    }

    /// Opens `session` for this edge and queues the answer that says so.
    func open(_ session: String) {
        enqueue { state in
            state.rooms.insert(session)
            state.pending.opened.append(session)
            return true
        }
    }

    func close(_ session: String) { _ = state.withLock { $0.rooms.remove(session) } }

    func has(_ session: String) -> Bool { state.withLock { $0.rooms.contains(session) } }

    // MARK: Queueing

    /// A commit batch of the core's log: its events of the edge's rooms are queued.
    func committed(_ events: [Committed]) {
        guard let last = events.last else { return }
        let now = ContinuousClock.now
        enqueue { state in
            state.position = max(state.position, last.id)
            let mine = events.filter { event in event.room.map { state.rooms.contains($0.session) } ?? false }
            guard !mine.isEmpty else {
                // Only the position moved: the edge hears of it now and then, to resume from near.
                if let woke = state.positionWake, woke.duration(to: now) < positionInterval { return false }
                state.positionWake = now
                return true
            }
            guard state.pending.batches.count < backlog else {
                state.overflowed = true
                state.finished = true
                return true
            }
            state.pending.batches.append(mine)
            for event in mine { state.pendingIDs.insert(event.id) }
            return true
        }
    }

    func answer(_ answer: Ope_Runtime_V1_RoomChatAnswer, byEvent: Bool) {
        enqueue { state in
            // The event is delivered here before its chat task answers: it is queued or taken.
            if byEvent, state.answersInEvents, case .event(let event) = answer.result {
                // Taken: the edge has it (or it is being written), and it answers the message there.
                if state.taken.0.contains(event.id) || state.taken.1.contains(event.id) { return false }
                // Queued: the writer is woken for it already, and takes this with it.
                if state.pendingIDs.contains(event.id) {
                    state.pending.answers.append(Answer(message: answer, byEvent: byEvent))
                    return false
                }
            }
            state.pending.answers.append(Answer(message: answer, byEvent: byEvent))
            return true
        }
    }

    func typing(_ note: Ope_Runtime_V1_RoomTyping) {
        enqueue { state in
            state.pending.typing.append(note)
            return true
        }
    }

    /// Changes the state; wakes the writer if `change` says so, or ends it once finished.
    private func enqueue(_ change: (inout State) -> Bool) {
        let (live, wakeUp) = state.withLock { state -> (Bool, Bool) in
            guard !state.finished else { return (false, false) }
            let wakeUp = change(&state)
            return (!state.finished, wakeUp)
        }
        if !live {
            wake.finish()
        } else if wakeUp {
            wakeUps.add(1, ordering: .relaxed)
            wake.yield()
        }
    }

    /// Ends the stream (the core shuts down, or the edge went away).
    func finish() {
        state.withLock { $0.finished = true }
        wake.finish()
    }

    var overflowed: Bool { state.withLock { $0.overflowed } }

    /// Everything queued, with the rooms open now (to filter its events by) and the last log
    /// position delivered here; nil once finished.
    func take() -> (pending: Pending, rooms: Set<String>, position: Int64)? {
        state.withLock { state in
            if state.finished && state.pending.isEmpty { return nil }
            if state.overflowed { return nil }
            let pending = state.pending
            state.pending = Pending()
            state.pendingIDs = []
            var handedOut: Set<Int64> = []
            for batch in pending.batches {
                for event in batch where event.room.map({ state.rooms.contains($0.session) }) ?? false { handedOut.insert(event.id) }
            }
            if !handedOut.isEmpty { state.taken = (handedOut, state.taken.0) }
            return (pending, state.rooms, state.position)
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

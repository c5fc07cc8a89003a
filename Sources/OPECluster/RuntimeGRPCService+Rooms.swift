import Foundation
import GRPCCore
import Logging
import OPECore
import OPERuntime
import OPEStore
import Synchronization

/// `Runtime.Rooms`: one edge's team rooms as one bidirectional stream (see `runtime.proto`).
extension RuntimeGRPCService {
    /// Chat messages one edge may have waiting for their commit at once; more are answered "busy".
    static let chatsInFlight = 4096
    /// An update that carries only a new log position goes out at most this often: it keeps an
    /// edge's resume point near, and costs nothing when rooms are busy (their updates carry it).
    static let positionInterval: Duration = .seconds(1)

    func rooms(
        request: RPCAsyncSequence<Ope_Runtime_V1_RoomRequests, any Error>, response: RPCWriter<Ope_Runtime_V1_RoomUpdates>,
        context: ServerContext
    ) async throws {
        // Live first, then (when resuming) the log: whatever commits meanwhile is in both and sent once.
        let stream = RoomStream(backlog: Self.subscriberBacklog, positionInterval: Self.positionInterval)
        roomStreams.add(stream)
        defer { roomStreams.remove(stream) }
        // The first request says where the edge is; the writer waits for it.
        let (follows, followed) = AsyncStream<Ope_Runtime_V1_RoomFollow>.makeStream()
        // The edge's requests are read beside the call, not in its task group: when the stream
        // ends from this side (a shutdown), the call returns without waiting for the edge's next
        // request, which may never come (a core stopping waited on its edges' open streams).
        let readFailure = FailureBox()
        let reader = Task {
            defer { followed.finish() }
            do {
                try await readRooms(request, stream: stream, followed: followed)
            } catch {
                // A broken request ends the stream with its error.
                readFailure.error.withLock { $0 = error }
                stream.finish()
            }
        }
        var failure: (any Error)?
        do {
            var first: Ope_Runtime_V1_RoomFollow?
            for await follow in follows {
                first = follow
                break
            }
            // The stream ends when the writer does (shutdown, overflow, the edge went away).
            if let follow = first { try await writeRooms(from: follow, stream: stream, response: response) }
        } catch {
            failure = error
        }
        stream.finish()
        reader.cancel()
        if failure == nil { failure = readFailure.error.withLock { $0 } }
        if let failure { throw RuntimeWire.rpcError(failure) }
        if stream.overflowed {
            logger.notice("an edge fell too far behind its room stream; it resumes from its position")
            throw RPCError(code: .resourceExhausted, message: "too far behind: open the room stream again from your last position")
        }
    }

    /// Reads the edge's requests until it closes its side. Each chat message is committed in a task
    /// of its own, started right here: side by side, since one at a time would wait a disk flush
    /// each, and with no queue between the reader and the commit, which would wake one more thread
    /// per message.
    private func readRooms(
        _ request: RPCAsyncSequence<Ope_Runtime_V1_RoomRequests, any Error>, stream: RoomStream,
        followed: AsyncStream<Ope_Runtime_V1_RoomFollow>.Continuation
    ) async throws {
        let waiting = InFlight()
        try await withThrowingDiscardingTaskGroup { group in
            var started = false
            for try await message in request {
                for item in message.requests {
                    switch item.kind {
                    case .follow(let follow):
                        guard !started else { throw RPCError(code: .invalidArgument, message: "a room stream is followed once, by its first request") }
                        started = true
                        stream.follow(follow)
                        followed.yield(follow)
                    case .open(let session):
                        try requireStarted(started)
                        stream.open(session)
                    case .close(let session):
                        try requireStarted(started)
                        stream.close(session)
                    case .chat(let chat):
                        try requireStarted(started)
                        answer(chat, on: stream, waiting: waiting, in: &group)
                    case .typing(let note):
                        try requireStarted(started)
                        roomStreams.relay(note, from: stream)
                    case nil:
                        throw RPCError(code: .invalidArgument, message: "a room request without a kind (newer edge than core?)")
                    }
                }
            }
            // The edge closed its side: its stream ends (chats still committing are answered to nobody).
            stream.finish()
        }
    }

    private func requireStarted(_ started: Bool) throws {
        guard started else { throw RPCError(code: .invalidArgument, message: "a room stream starts with a follow request") }
    }

    /// Commits one of the edge's chat messages and queues its answer; past `chatsInFlight` waiting
    /// at once, it is answered "busy" instead.
    private func answer(_ chat: Ope_Runtime_V1_RoomChat, on stream: RoomStream, waiting: InFlight, in group: inout ThrowingDiscardingTaskGroup<any Error>) {
        var answer = Ope_Runtime_V1_RoomChatAnswer()
        answer.request = chat.request
        guard waiting.count.add(1, ordering: .relaxed).newValue <= Self.chatsInFlight else {
            waiting.count.subtract(1, ordering: .relaxed)
            answer.refusal = RuntimeWire.refusalJSON(RuntimeError(.busy(retryAfterSeconds: 1), "too many chat messages waiting; send again"))
            stream.answer(answer, byEvent: false)
            return
        }
        group.addTask { [answer] in
            var answer = answer
            defer { waiting.count.subtract(1, ordering: .relaxed) }
            // Only an event committed for this message reaches the edge after it (an earlier
            // copy's may have gone before), so only such an event can answer it there.
            var byEvent = false
            do {
                let (event, committed) = try await committedChatNoting(chat.text, clientID: chat.clientID, session: chat.session, by: chat.user)
                answer.event = RuntimeWire.message(event)
                byEvent = committed && !chat.clientID.isEmpty
            } catch {
                if RuntimeWire.Refusal(error) == nil { logger.error("a chat message was not recorded", metadata: ["error": "\(error)"]) }
                answer.refusal = RuntimeWire.refusalJSON(error)
            }
            stream.answer(answer, byEvent: byEvent)
        }
    }

    /// Sends the edge its rooms' traffic: first, when it resumes, what they committed since its
    /// position; then every update as it queues.
    private func writeRooms(from follow: Ope_Runtime_V1_RoomFollow, stream: RoomStream, response: RPCWriter<Ope_Runtime_V1_RoomUpdates>) async throws {
        var position: Int64
        if follow.hasAfter {
            position = follow.after
            try await runtime.export(EventFilter(afterID: follow.after)) { page in
                guard let last = page.last else { return }
                var update = Ope_Runtime_V1_RoomUpdates()
                update.events = page.filter { $0.session.map(stream.has) ?? false }.map(RuntimeWire.message)
                update.position = last.id
                position = last.id
                if !update.events.isEmpty { try await response.write(update) }
            }
        } else {
            position = try await runtime.store.reader.latest(EventFilter()).first?.id ?? 0
        }
        // Where the edge is now, and its rooms open from here on.
        var start = Ope_Runtime_V1_RoomUpdates()
        start.position = position
        start.opened = follow.sessions
        try await response.write(start)

        var lastWrite = ContinuousClock.now
        var written = position
        // Ids of the events sent in the last update and in this one: a chat answer whose event is
        // among them carries only its id.
        var sentBefore: Set<Int64> = []
        for await _ in stream.wakes {
            guard let (pending, rooms, delivered) = stream.take() else { break }
            var update = Ope_Runtime_V1_RoomUpdates()
            var sent: Set<Int64> = []
            for batch in pending.batches {
                for event in batch where event.id > position {
                    if let room = event.room, rooms.contains(room.session) {
                        update.events.append(room.message)
                        sent.insert(event.id)
                    }
                }
            }
            position = max(position, delivered)
            update.opened = pending.opened
            // An answer whose event went to this edge is only its id, or nothing at all for an edge
            // that matches its messages' events itself: then most chat messages cost no answer.
            update.answers = pending.answers.compactMap { pendingAnswer in
                let answer = pendingAnswer.message
                guard case .event(let event) = answer.result, sent.contains(event.id) || sentBefore.contains(event.id) else { return answer }
                if follow.answersInEvents && pendingAnswer.byEvent { return nil }
                var short = answer
                short.eventID = event.id
                return short
            }
            if !sent.isEmpty || !update.answers.isEmpty { sentBefore = sent }
            update.typing = pending.typing
            let news = !update.events.isEmpty || !update.opened.isEmpty || !update.answers.isEmpty || !update.typing.isEmpty
            guard news || (position > written && lastWrite.duration(to: .now) >= Self.positionInterval) else { continue }
            update.position = position
            try await response.write(update)
            written = position
            lastWrite = .now
        }
    }
}

/// A count shared by concurrent tasks.
final class InFlight: Sendable {
    let count = Atomic(0)
}

/// The error a task beside a call ended with, for the call to throw.
final class FailureBox: Sendable {
    let error = Mutex<(any Error)?>(nil)
}

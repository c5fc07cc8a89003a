import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import OPECore
import OPERuntime
import SwiftProtobuf
import Synchronization

/// An edge's end of one core's room stream (`Runtime.Rooms` in `runtime.proto`): the rooms this
/// edge has sockets on, their members' chat going in and the rooms' committed events coming out,
/// over one bidirectional gRPC stream that is opened again whenever it breaks.
///
/// What queues while a request is on the wire goes as the next one, so under load one message
/// carries many chats. A broken stream resumes from the last log position the core sent, with
/// the rooms open then: the core replays what they committed meanwhile, so the rooms miss nothing
/// and see nothing twice. Chat messages not yet answered are sent again on the new stream (the
/// core answers a client id it has committed with the same event); one without a client id
/// cannot be told apart from a second message and fails instead.
///
/// While the core cannot be reached, a caller waits up to the retry window for the stream to be
/// back, then hears `RuntimeError(.unavailable)` (503 at the HTTP edge): as a unary call is tried again.
final class RoomLink: Sendable {
    private struct Waiting<Value: Sendable>: Sendable {
        var continuation: CheckedContinuation<Value, any Error>
        var since: ContinuousClock.Instant
    }

    private struct PendingChat: Sendable {
        var request: Ope_Runtime_V1_RoomChat
        var waiting: Waiting<Event>

        /// How its committed event is known when it arrives (a message with a client id only): the
        /// core commits one event per key, so the event with its key is its answer.
        var key: RecentChats.Key? {
            request.clientID.isEmpty ? nil : RecentChats.Key(session: request.session, user: request.user, clientID: request.clientID)
        }
    }

    private struct State: Sendable {
        /// Open sockets per room.
        var rooms: [String: Int] = [:]
        /// Rooms whose opening the current stream confirmed.
        var opened: Set<String> = []
        /// Openings sent on the current stream and not yet confirmed, per room.
        var unconfirmed: [String: Int] = [:]
        var openers: [String: [UUID: Waiting<Void>]] = [:]
        var chats: [UInt64: PendingChat] = [:]
        /// The waiting chats that have a client id, by what their events will say (a page that
        /// sends a message again before its answer has two waiting).
        var chatsByKey: [RecentChats.Key: [UInt64]] = [:]
        var nextRequest: UInt64 = 0
        /// Requests for the current stream's next write.
        var outgoing: [Ope_Runtime_V1_RoomRequest] = []
        /// Wakes the current stream's writer; nil while there is no stream.
        var wake: AsyncStream<Void>.Continuation?
        /// The last log position the core sent: where a new stream resumes.
        var position: Int64?
        /// Whether a stream is open and the core has answered on it.
        var streaming = false
        var stopped = false
        /// The events of the last update that had events or answers: a chat answer may point at
        /// one of them by id (see `RoomChatAnswer.event_id`).
        var previousEvents: [Int64: Event] = [:]
        var eventHandlers: [UUID: @Sendable ([Event]) -> Void] = [:]
        var typingHandlers: [UUID: @Sendable (TypingNote) -> Void] = [:]

        /// A chat message no longer waits (answered, failed or past its deadline).
        @discardableResult
        mutating func removeChat(_ request: UInt64) -> PendingChat? {
            guard let chat = chats.removeValue(forKey: request) else { return nil }
            if let key = chat.key {
                chatsByKey[key]?.removeAll { $0 == request }
                if chatsByKey[key]?.isEmpty == true { chatsByKey[key] = nil }
            }
            return chat
        }
    }

    private let state = Mutex(State())
    let address: String
    /// How long a chat or a room opening may wait for the core.
    let deadline: Duration
    /// How long callers wait for a core that cannot be reached before they are told so.
    let retryWindow: Duration
    let logger: Logger

    init(address: String, deadline: Duration, retryWindow: Duration, logger: Logger = Logger(label: "ope.rooms")) {
        self.address = address
        self.deadline = deadline
        self.retryWindow = retryWindow
        var logger = logger
        logger[metadataKey: "core"] = "\(address)"
        self.logger = logger
    }

    private var unavailable: RuntimeError {
        RuntimeError(
            .unavailable(retryAfterSeconds: 5), "the part of OPE that holds this room (core \(address)) is not answering now; try again in a few seconds")
    }

    // MARK: What the edge asks

    /// Delivers the committed events of the open rooms, in log order, until cancelled.
    func subscribe(_ deliver: @escaping @Sendable ([Event]) -> Void) -> RuntimeSubscription {
        let id = UUID()
        state.withLock { $0.eventHandlers[id] = deliver }
        return RuntimeSubscription { [self] in _ = state.withLock { $0.eventHandlers.removeValue(forKey: id) } }
    }

    func followTyping(_ deliver: @escaping @Sendable (TypingNote) -> Void) -> RuntimeSubscription {
        let id = UUID()
        state.withLock { $0.typingHandlers[id] = deliver }
        return RuntimeSubscription { [self] in _ = state.withLock { $0.typingHandlers.removeValue(forKey: id) } }
    }

    /// A socket opened on `session`'s room: returns once the core sends this edge every event
    /// the room commits. Each successful call is matched by one ``close(_:)``.
    func open(_ session: String) async throws {
        let id = UUID()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            enum Outcome { case ready, wait, refused }
            let (outcome, wake): (Outcome, AsyncStream<Void>.Continuation?) = state.withLock { state in
                if state.stopped { return (.refused, nil) }
                state.rooms[session, default: 0] += 1
                if state.opened.contains(session) { return (.ready, nil) }
                state.openers[session, default: [:]][id] = Waiting(continuation: continuation, since: .now)
                // The room's first socket asks the core; later ones wait for the same answer. With
                // no stream now, the next one's first request asks for every room.
                guard state.rooms[session] == 1, let wake = state.wake else { return (.wait, nil) }
                state.unconfirmed[session, default: 0] += 1
                state.outgoing.append(.with { $0.open = session })
                return (.wait, wake)
            }
            switch outcome {
            case .ready: continuation.resume()
            case .refused: continuation.resume(throwing: unavailable)
            case .wait: wake?.yield()
            }
        }
    }

    /// A socket on `session`'s room closed.
    func close(_ session: String) {
        state.withLock { state in release(session, in: &state) }?.yield()
    }

    /// One socket fewer on `session`; the wake-up to send when the room closes on the stream.
    private func release(_ session: String, in state: inout State) -> AsyncStream<Void>.Continuation? {
        guard let count = state.rooms[session] else { return nil }
        guard count <= 1 else {
            state.rooms[session] = count - 1
            return nil
        }
        state.rooms[session] = nil
        state.opened.remove(session)
        guard let wake = state.wake else { return nil }
        state.outgoing.append(.with { $0.close = session })
        return wake
    }

    /// A member's chat message: the committed event, once the core has it.
    func chat(_ text: String, clientID: String, session: String, by user: String) async throws -> Event {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Event, any Error>) in
            let (refused, wake): (Bool, AsyncStream<Void>.Continuation?) = state.withLock { state in
                if state.stopped { return (true, nil) }
                state.nextRequest += 1
                let request = Ope_Runtime_V1_RoomChat.with {
                    $0.request = state.nextRequest
                    $0.session = session
                    $0.user = user
                    $0.text = text
                    $0.clientID = clientID
                }
                let pending = PendingChat(request: request, waiting: Waiting(continuation: continuation, since: .now))
                state.chats[request.request] = pending
                if let key = pending.key { state.chatsByKey[key, default: []].append(request.request) }
                // With no stream now, the next one's first request carries it.
                guard let wake = state.wake else { return (false, nil) }
                state.outgoing.append(.with { $0.chat = request })
                return (false, wake)
            }
            if refused { continuation.resume(throwing: unavailable) } else { wake?.yield() }
        }
    }

    /// Tells the other edges with this room open that a member is typing (dropped while there is no stream).
    func typing(_ note: TypingNote) {
        state.withLock { state -> AsyncStream<Void>.Continuation? in
            guard let wake = state.wake, state.rooms[note.session] != nil else { return nil }
            state.outgoing.append(
                .with {
                    $0.typing = .with {
                        $0.session = note.session
                        $0.user = note.user
                        $0.active = note.active
                    }
                })
            return wake
        }?.yield()
    }

    // MARK: The stream

    /// Keeps a stream open to the core until ``stop()`` or cancellation, resuming each broken one.
    func run(_ stub: Ope_Runtime_V1_Runtime.Client<HTTP2ClientTransport.Posix>, metadata: Metadata) async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.expireWaits() }
            var pause = Duration.milliseconds(100)
            while !Task.isCancelled {
                let (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
                guard let first = begin(wake) else { break }
                let reached = Atomic(false)
                do {
                    var options = CallOptions.defaults
                    options.timeout = nil
                    options.executionPolicy = nil
                    try await stub.rooms(metadata: metadata, options: options) { writer in
                        try await writer.write(first)
                        for await _ in wakes {
                            let requests = self.state.withLock { state in
                                defer { state.outgoing = [] }
                                return state.outgoing
                            }
                            if !requests.isEmpty { try await writer.write(.with { $0.requests = requests }) }
                        }
                    } onResponse: { response in
                        for try await update in response.messages {
                            reached.store(true, ordering: .relaxed)
                            self.receive(update)
                        }
                    }
                } catch {
                    if !Task.isCancelled { logger.debug("room stream broke", metadata: ["error": "\(error)"]) }
                }
                wake.finish()
                end()
                if reached.load(ordering: .relaxed) { pause = .milliseconds(100) }
                if state.withLock({ $0.stopped }) { break }
                // A core that is down: try again, less often the longer it stays down (at most every
                // second, so a core that is back is found within the callers' retry window).
                do { try await Task.sleep(for: pause) } catch { break }
                pause = min(pause * 2, .seconds(1))
            }
            group.cancelAll()
        }
        failEverything()
    }

    /// Ends the stream for good (the edge shuts down): the core sees this edge's side close.
    func stop() {
        state.withLock { state in
            state.stopped = true
            return state.wake
        }?.finish()
    }

    /// A new stream's first request: follow the open rooms from the last position, and every
    /// chat message still unanswered; nil once stopped.
    private func begin(_ wake: AsyncStream<Void>.Continuation) -> Ope_Runtime_V1_RoomRequests? {
        state.withLock { state in
            guard !state.stopped else { return nil }
            state.wake = wake
            state.outgoing = []
            state.opened = []
            let rooms = Array(state.rooms.keys)
            state.unconfirmed = Dictionary(uniqueKeysWithValues: rooms.map { ($0, 1) })
            var requests: [Ope_Runtime_V1_RoomRequest] = [
                .with {
                    $0.follow = .with {
                        $0.sessions = rooms
                        $0.answersInEvents = true
                        if let position = state.position { $0.after = position }
                    }
                }
            ]
            for chat in state.chats.values.sorted(by: { $0.request.request < $1.request.request }) {
                requests.append(.with { $0.chat = chat.request })
            }
            return .with { $0.requests = requests }
        }
    }

    /// The stream broke: rooms are confirmed again by the next one; a chat message without a
    /// client id, which might have been committed, fails rather than risk a second copy.
    private func end() {
        let failed: [CheckedContinuation<Event, any Error>] = state.withLock { state in
            state.wake = nil
            state.outgoing = []
            state.opened = []
            state.streaming = false
            let unsafe = state.chats.filter { $0.value.request.clientID.isEmpty }
            for id in unsafe.keys { state.chats[id] = nil }
            return unsafe.values.map(\.waiting.continuation)
        }
        for continuation in failed { continuation.resume(throwing: unavailable) }
    }

    /// Takes in one update of the core's: events to the rooms, then answers to whoever waits.
    private func receive(_ update: Ope_Runtime_V1_RoomUpdates) {
        var events: [Event] = []
        events.reserveCapacity(update.events.count)
        for message in update.events {
            do { events.append(try RuntimeWire.event(message)) } catch {
                logger.error("an event from the core could not be read", metadata: ["error": "\(error)"])
            }
        }
        var ready: [CheckedContinuation<Void, any Error>] = []
        var answered: [(CheckedContinuation<Event, any Error>, Result<Event, any Error>)] = []
        let byID = Dictionary(events.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let (eventHandlers, typingHandlers) = state.withLock { state in
            state.streaming = true
            if update.position > 0 { state.position = max(state.position ?? 0, update.position) }
            for session in update.opened {
                let left = (state.unconfirmed[session] ?? 1) - 1
                state.unconfirmed[session] = left > 0 ? left : nil
                // Confirmed only by the answer to the last opening sent, and only if still wanted.
                guard left <= 0, state.rooms[session] != nil else { continue }
                state.opened.insert(session)
                ready += (state.openers.removeValue(forKey: session) ?? [:]).values.map(\.continuation)
            }
            // A chat message's event is its answer (the core sends no other for it).
            for event in events {
                guard let key = RecentChats.Key(event), let requests = state.chatsByKey[key] else { continue }
                for request in requests {
                    if let chat = state.removeChat(request) { answered.append((chat.waiting.continuation, .success(event))) }
                }
            }
            for answer in update.answers {
                guard let chat = state.removeChat(answer.request) else { continue }
                switch answer.result {
                case .event(let message):
                    answered.append((chat.waiting.continuation, Result { try RuntimeWire.event(message) }))
                case .refusal(let json):
                    answered.append((chat.waiting.continuation, .failure(RuntimeWire.refusal(json, core: address))))
                case .eventID(let id):
                    if let event = byID[id] ?? state.previousEvents[id] {
                        answered.append((chat.waiting.continuation, .success(event)))
                    } else {
                        // Not where the core said: the message is saved, but this edge cannot say as what.
                        answered.append((chat.waiting.continuation, .failure(unavailable)))
                    }
                case nil:
                    answered.append((chat.waiting.continuation, .failure(unavailable)))
                }
            }
            if !update.events.isEmpty || !update.answers.isEmpty { state.previousEvents = byID }
            return (Array(state.eventHandlers.values), Array(state.typingHandlers.values))
        }
        if !events.isEmpty { for deliver in eventHandlers { deliver(events) } }
        for note in update.typing {
            let typing = TypingNote(session: note.session, user: note.user, active: note.active)
            for deliver in typingHandlers { deliver(typing) }
        }
        for continuation in ready { continuation.resume() }
        for (continuation, result) in answered { continuation.resume(with: result) }
    }

    /// Every quarter second: waits past their deadline fail, and so do waits longer than the
    /// retry window while there is no stream (as a unary call is tried again for that long).
    private func expireWaits() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: .milliseconds(250)) } catch { return }
            let now = ContinuousClock.now
            var chats: [CheckedContinuation<Event, any Error>] = []
            var openers: [CheckedContinuation<Void, any Error>] = []
            var wakes: [AsyncStream<Void>.Continuation] = []
            state.withLock { state in
                let down = !state.streaming
                func due(_ since: ContinuousClock.Instant) -> Bool {
                    let waited = since.duration(to: now)
                    return waited >= deadline || (down && waited >= retryWindow)
                }
                for (id, chat) in state.chats where due(chat.waiting.since) {
                    state.removeChat(id)
                    chats.append(chat.waiting.continuation)
                }
                for (session, waiting) in state.openers {
                    for (id, opener) in waiting where due(opener.since) {
                        state.openers[session]?[id] = nil
                        openers.append(opener.continuation)
                        // The socket that waited will not close the room: it was never opened for it.
                        if let wake = release(session, in: &state) { wakes.append(wake) }
                    }
                    if state.openers[session]?.isEmpty == true { state.openers[session] = nil }
                }
            }
            for wake in wakes { wake.yield() }
            for continuation in chats { continuation.resume(throwing: unavailable) }
            for continuation in openers { continuation.resume(throwing: unavailable) }
        }
    }

    private func failEverything() {
        let (chats, openers) = state.withLock { state in
            defer {
                state.chats = [:]
                state.chatsByKey = [:]
                state.openers = [:]
            }
            return (state.chats.values.map(\.waiting.continuation), state.openers.values.flatMap { $0.values.map(\.continuation) })
        }
        for continuation in chats { continuation.resume(throwing: unavailable) }
        for continuation in openers { continuation.resume(throwing: unavailable) }
    }
}

import Foundation
import GRPCCore
import Logging
import OPECore
import OPERuntime
import OPEStore
import Synchronization

/// `ope.runtime.v1.Runtime` over a core's own ``Runtime``: what `ope serve --role core` serves to
/// the edges. Every method is the in-process ``RuntimeAPI`` call of the same name; refusals cross
/// the wire as themselves (``RuntimeWire/rpcError(_:)``).
struct RuntimeGRPCService: Ope_Runtime_V1_Runtime.SimpleServiceProtocol {
    let runtime: Runtime
    let logger: Logger
    /// Chat messages answered recently, by (session, user, client id): a retried message gets the
    /// event already committed instead of a second one.
    let recentChats = RecentChats(capacity: 20_000)
    /// An edge this many commit batches behind on its room stream is cut off; it resumes from its position.
    static let subscriberBacklog = 4096
    /// The edges' room streams, ended together when the core shuts down.
    let roomStreams = RoomStreams()

    // MARK: Lobby

    func join(request: Ope_Runtime_V1_JoinRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Json {
        try await answering {
            try RuntimeWire.encode(
                try await runtime.join(user: request.user, module: request.module, leaving: request.hasLeaving ? request.leaving : nil))
        }
    }

    func leaveLobby(request: Ope_Runtime_V1_UserRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Flag {
        try await answering { flag(try await runtime.leaveLobby(user: request.user)) }
    }

    // MARK: A team's session

    func leave(request: Ope_Runtime_V1_SessionUserRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Json {
        try await answering { try RuntimeWire.encode(try await runtime.leave(user: request.user, session: request.session)) }
    }

    func chat(request: Ope_Runtime_V1_ChatRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Event {
        try await answering {
            RuntimeWire.message(try await committedChat(request.text, clientID: request.clientID, session: request.session, by: request.user))
        }
    }

    /// Learns the client ids of the last chat messages in the log, so that a message an edge sends
    /// again after this core restarted (its first copy was committed, its answer lost) counts once.
    func rememberRecentChats() async {
        do {
            let recent = try await runtime.store.reader.latest(EventFilter(types: [.chatMessage]), limit: recentChats.capacity)
            for event in recent.reversed() {
                if let key = RecentChats.Key(event) { recentChats.remember(event, for: key) }
            }
        } catch {
            logger.warning(
                "the last chat messages could not be read; a message re-sent across this restart may be recorded twice", metadata: ["error": "\(error)"])
        }
    }

    /// Commits a chat message, or answers the event a message with the same client id committed.
    func committedChat(_ text: String, clientID: String, session: String, by user: String) async throws -> Event {
        try await committedChatNoting(text, clientID: clientID, session: session, by: user).event
    }

    /// ``committedChat(_:clientID:session:by:)``, and whether this call committed the event
    /// (rather than finding an earlier copy's).
    func committedChatNoting(_ text: String, clientID: String, session: String, by user: String) async throws -> (event: Event, committed: Bool) {
        guard !clientID.isEmpty else { return (try await runtime.chat(text, clientID: clientID, session: session, by: user), true) }
        var committed = false
        let event = try await recentChats.answer(RecentChats.Key(session: session, user: user, clientID: clientID)) {
            committed = true
            return try await runtime.chat(text, clientID: clientID, session: session, by: user)
        }
        return (event, committed)
    }

    func rotate(request: Ope_Runtime_V1_SessionActorRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Flag {
        try await answering { flag(try await runtime.rotate(session: request.session, by: request.actor)) }
    }

    func hint(request: Ope_Runtime_V1_HintRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Count {
        try await answering {
            let target: HintTarget
            switch request.target {
            case .session(let id): target = .session(id)
            case .allLive(let all): target = .allLive(module: all.hasModule ? all.module : nil)
            case nil: throw RuntimeError(.invalid, "a hint needs a target: a session, or every live team")
            }
            var count = Ope_Runtime_V1_Count()
            count.value = Int64(try await runtime.hint(request.text, to: target, by: request.actor))
            return count
        }
    }

    func end(request: Ope_Runtime_V1_SessionActorRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Flag {
        try await answering { flag(try await runtime.end(session: request.session, by: request.actor)) }
    }

    func runTests(request: Ope_Runtime_V1_RunTestsRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Json {
        try await answering { try RuntimeWire.encode(try await runtime.runTests(task: request.task, session: request.session, by: request.actor)) }
    }

    func restartWorkspace(request: Ope_Runtime_V1_SessionActorRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Empty {
        try await answering {
            try await runtime.restartWorkspace(session: request.session, by: request.actor)
            return Ope_Runtime_V1_Empty()
        }
    }

    func connected(request: Ope_Runtime_V1_SessionUserRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Empty {
        try await answering {
            try await runtime.connected(user: request.user, session: request.session)
            return Ope_Runtime_V1_Empty()
        }
    }

    func disconnected(request: Ope_Runtime_V1_SessionUserRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Empty {
        try await answering {
            try await runtime.disconnected(user: request.user, session: request.session)
            return Ope_Runtime_V1_Empty()
        }
    }

    func setMatching(request: Ope_Runtime_V1_SetMatchingRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Json {
        try await answering {
            var mode: MatchingPolicy.Mode?
            if request.hasMode {
                guard let given = MatchingPolicy.Mode(rawValue: request.mode) else {
                    throw RuntimeError(.invalid, "mode must be one of \(MatchingPolicy.Mode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                mode = given
            }
            return try RuntimeWire.encode(
                try await runtime.setMatching(module: request.module, open: request.hasOpen ? request.open : nil, mode: mode, by: request.actor))
        }
    }

    func uploadGroups(request: Ope_Runtime_V1_UploadGroupsRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Json {
        try await answering { try RuntimeWire.encode(try await runtime.uploadGroups(csv: request.csv, module: request.module, by: request.actor)) }
    }

    func syncModules(request: Ope_Runtime_V1_ActorRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Json {
        try await answering { try RuntimeWire.encode(try await runtime.syncModules(by: request.actor)) }
    }

    // MARK: Queries

    func session(request: Ope_Runtime_V1_SessionRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Json {
        try await answering { try RuntimeWire.encodeOptional(await runtime.session(request.session)) }
    }

    func currentSession(request: Ope_Runtime_V1_UserRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Json {
        try await answering { try RuntimeWire.encodeOptional(await runtime.currentSession(of: request.user)) }
    }

    func liveSessions(request: Ope_Runtime_V1_Empty, context: ServerContext) async throws -> Ope_Runtime_V1_Json {
        try await answering { try RuntimeWire.encode(await runtime.liveSessions()) }
    }

    func committedStatus(request: Ope_Runtime_V1_UserRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Json {
        try await answering { try RuntimeWire.encode(await runtime.committedStatus(of: request.user)) }
    }

    func lateJoinTimeLeft(request: Ope_Runtime_V1_SessionRequest, context: ServerContext) async throws -> Ope_Runtime_V1_OptionalSeconds {
        try await answering {
            var answer = Ope_Runtime_V1_OptionalSeconds()
            if let left = await runtime.lateJoinTimeLeft(session: request.session) { answer.seconds = left.timeInterval }
            return answer
        }
    }

    func queueSnapshot(request: Ope_Runtime_V1_Empty, context: ServerContext) async throws -> Ope_Runtime_V1_Json {
        try await answering { try RuntimeWire.encode(await runtime.queueSnapshot()) }
    }

    func matching(request: Ope_Runtime_V1_ModuleRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Json {
        try await answering { try RuntimeWire.encodeOptional(await runtime.matching(of: request.module)) }
    }

    func groups(request: Ope_Runtime_V1_ModuleRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Json {
        try await answering { try RuntimeWire.encodeOptional(await runtime.groups(of: request.module)) }
    }

    func modules(request: Ope_Runtime_V1_Empty, context: ServerContext) async throws -> Ope_Runtime_V1_Json {
        try await answering { try RuntimeWire.encode(await runtime.modules()) }
    }

    func moduleProblems(request: Ope_Runtime_V1_Empty, context: ServerContext) async throws -> Ope_Runtime_V1_Json {
        try await answering { try RuntimeWire.encode(await runtime.moduleProblems()) }
    }

    func workspaceState(request: Ope_Runtime_V1_SessionRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Json {
        try await answering { try RuntimeWire.encodeOptional(await runtime.workspaceState(of: request.session)) }
    }

    func activity(request: Ope_Runtime_V1_SessionRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Json {
        try await answering {
            guard let session = await runtime.session(request.session) else { throw RuntimeError(.notFound, "no session '\(request.session)'") }
            return try RuntimeWire.encode(try await runtime.activity(of: session))
        }
    }

    // MARK: Workspaces

    func resolveWorkspace(request: Ope_Runtime_V1_WorkspaceRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Json {
        try await answering { try RuntimeWire.encodeOptional(try await runtime.workspaceAccess?.resolve(request.id)) }
    }

    func openWorkspace(request: Ope_Runtime_V1_SessionRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Json {
        try await answering {
            guard let access = runtime.workspaceAccess else {
                throw RuntimeError(.conflict, "this core runs without workspaces (--workspaces none)")
            }
            return try RuntimeWire.encodeOptional(try await access.open(session: request.session))
        }
    }

    func noteWorkspaceUse(request: Ope_Runtime_V1_WorkspaceUse, context: ServerContext) async throws -> Ope_Runtime_V1_Empty {
        try await answering {
            if let access = runtime.workspaceAccess {
                for session in request.touched { access.touch(session: session) }
                for edit in request.edits {
                    // The record coalesces them per member, document and minute.
                    let document = DocumentEdit(
                        session: edit.session, user: edit.user, document: edit.hasDocument ? edit.document : nil, bytes: Int(edit.bytes),
                        role: edit.hasRole ? edit.role : nil)
                    await access.edits.note(document, updates: max(1, Int(edit.updates)), logger: logger)
                }
                let activity = try request.activity.map(RuntimeWire.decodeDraft)
                if !activity.isEmpty { await access.record(activity, logger: logger) }
            }
            return Ope_Runtime_V1_Empty()
        }
    }

    // MARK: Streams

    func history(request: Ope_Runtime_V1_HistoryRequest, response: RPCWriter<Ope_Runtime_V1_EventBatch>, context: ServerContext) async throws {
        try await answering {
            try await runtime.history(session: request.session, after: request.hasAfter ? request.after : nil) { page in
                try await response.write(Self.positioned(page))
            }
        }
    }

    func export(request: Ope_Runtime_V1_ExportRequest, response: RPCWriter<Ope_Runtime_V1_EventBatch>, context: ServerContext) async throws {
        try await answering {
            let filter: EventFilter
            do {
                filter = try JSONDecoder().decode(EventFilter.self, from: request.filter)
            } catch {
                throw RuntimeError(.invalid, "the export filter is not an EventFilter: \(error)")
            }
            if request.hasLimit {
                try await response.write(Self.positioned(try await runtime.events(filter, limit: Int(clamping: max(0, request.limit)))))
            } else {
                try await runtime.export(filter) { page in try await response.write(Self.positioned(page)) }
            }
        }
    }

    func logPosition(request: Ope_Runtime_V1_Empty, context: ServerContext) async throws -> Ope_Runtime_V1_Count {
        try await answering {
            var count = Ope_Runtime_V1_Count()
            count.value = try await runtime.store.reader.latest(EventFilter()).first?.id ?? 0
            return count
        }
    }

    static func positioned(_ page: [Event]) -> Ope_Runtime_V1_EventBatch {
        var batch = RuntimeWire.batch(page)
        batch.position = page.last?.id ?? 0
        return batch
    }

    // MARK: Helpers

    private func flag(_ value: Bool) -> Ope_Runtime_V1_Flag {
        var flag = Ope_Runtime_V1_Flag()
        flag.value = value
        return flag
    }

    /// Runs a method, turning the runtime's refusals into statuses the edge turns back.
    func answering<Answer>(_ body: () async throws -> Answer) async throws -> Answer {
        do {
            return try await body()
        } catch {
            if RuntimeWire.Refusal(error) == nil, !(error is RPCError) {
                logger.error("a runtime call failed", metadata: ["error": "\(error)"])
            }
            throw RuntimeWire.rpcError(error)
        }
    }
}

/// Chat messages a core answered recently, so a retried one is answered, not committed twice:
/// also while the first copy is still being committed (an edge re-sends what it sent on a stream
/// that broke, and the first copy may be on its way to the disk).
final class RecentChats: Sendable {
    /// A chat message by what makes copies of it one: its session, sender and client id. An edge
    /// matches the events it is sent to the messages it waits on by the same key (``RoomLink``).
    struct Key: Hashable, Sendable {
        var session: String
        var user: String
        var clientID: String

        init(session: String, user: String, clientID: String) {
            self.session = session
            self.user = user
            self.clientID = clientID
        }

        /// The key of a chat message's event; nil for other events and messages without a client id.
        init?(_ event: Event) {
            guard event.type == .chatMessage, let session = event.session, let user = event.actor,
                case .string(let clientID)? = event.payload["clientId"], !clientID.isEmpty
            else { return nil }
            self.init(session: session, user: user, clientID: clientID)
        }
    }

    private struct State {
        var events: [Key: Event] = [:]
        var order: [Key] = []
        var start = 0
        /// Messages being committed, with the copies waiting for the first one's answer.
        var committing: [Key: [CheckedContinuation<Event?, Never>]] = [:]
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// The event committed for `key`: one already committed or being committed, or `commit`'s.
    /// A copy that waited for a first one that failed tries to commit itself.
    func answer(_ key: Key, commit: () async throws -> Event) async throws -> Event {
        enum Claim { case known(Event), theirs, mine }
        while true {
            let claim: Claim = state.withLock { state in
                if let event = state.events[key] { return .known(event) }
                if state.committing[key] != nil { return .theirs }
                state.committing[key] = []
                return .mine
            }
            switch claim {
            case .known(let event): return event
            case .theirs:
                if let event = await firstCopy(of: key) { return event }
            case .mine:
                do {
                    let event = try await commit()
                    finish(key, with: event)
                    return event
                } catch {
                    finish(key, with: nil)
                    throw error
                }
            }
        }
    }

    /// Waits for the copy of `key` being committed; nil if it failed (or is no longer known).
    private func firstCopy(of key: Key) async -> Event? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Event?, Never>) in
            let now: Event?? = state.withLock { state in
                if let event = state.events[key] { return .some(event) }
                guard state.committing[key] != nil else { return .some(nil) }
                state.committing[key]?.append(continuation)
                return .none
            }
            if let now { continuation.resume(returning: now) }
        }
    }

    private func finish(_ key: Key, with event: Event?) {
        let waiting = state.withLock { state in
            if let event { remember(event, for: key, in: &state) }
            return state.committing.removeValue(forKey: key) ?? []
        }
        for continuation in waiting { continuation.resume(returning: event) }
    }

    func remember(_ event: Event, for key: Key) { state.withLock { remember(event, for: key, in: &$0) } }

    private func remember(_ event: Event, for key: Key, in state: inout State) {
        guard state.events.updateValue(event, forKey: key) == nil else { return }
        state.order.append(key)
        if state.order.count - state.start > capacity {
            state.events[state.order[state.start]] = nil
            state.start += 1
            // Compact now and then so the order does not grow without end.
            if state.start > capacity {
                state.order.removeFirst(state.start)
                state.start = 0
            }
        }
    }
}

/// Open subscriptions' streams, so a shutdown can end them (a graceful shutdown waits for every
/// call in flight, and a subscription never ends by itself).
final class Subscribers<Element: Sendable>: Sendable {
    private let streams = Mutex<[UUID: AsyncStream<Element>.Continuation]>([:])
    private let closed = Atomic(false)

    func add(_ continuation: AsyncStream<Element>.Continuation) -> UUID {
        let id = UUID()
        streams.withLock { $0[id] = continuation }
        if closed.load(ordering: .relaxed) { continuation.finish() }
        return id
    }

    func remove(_ id: UUID) { _ = streams.withLock { $0.removeValue(forKey: id) } }

    func finishAll() {
        closed.store(true, ordering: .relaxed)
        for continuation in streams.withLock({ Array($0.values) }) { continuation.finish() }
    }
}

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
    /// A subscriber this many batches behind is cut off; it subscribes again from its position.
    static let subscriberBacklog = 4096
    /// The open subscriptions, ended together when the core shuts down.
    let subscribers = Subscribers<[Event]>()

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
            let key = RecentChats.Key(session: request.session, user: request.user, clientID: request.clientID)
            if !request.clientID.isEmpty, let event = recentChats.event(for: key) { return RuntimeWire.message(event) }
            let event = try await runtime.chat(request.text, clientID: request.clientID, session: request.session, by: request.user)
            if !request.clientID.isEmpty { recentChats.remember(event, for: key) }
            return RuntimeWire.message(event)
        }
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
                    // Each update counts; the record coalesces them per member and minute.
                    for _ in 0..<min(max(1, Int(edit.updates)), 1000) { await access.noteEdit(session: edit.session, user: edit.user, logger: logger) }
                }
            }
            return Ope_Runtime_V1_Empty()
        }
    }

    // MARK: Subscriptions

    func subscribe(
        request: Ope_Runtime_V1_SubscribeRequest, response: RPCWriter<Ope_Runtime_V1_EventBatch>, context: ServerContext
    ) async throws {
        // Live first, then the log: whatever commits meanwhile is in both and sent once (by id).
        let (stream, continuation) = AsyncStream<[Event]>.makeStream(bufferingPolicy: .bufferingOldest(Self.subscriberBacklog))
        let overflowed = Atomic(false)
        let registration = subscribers.add(continuation)
        defer { subscribers.remove(registration) }
        let subscription = await runtime.subscribe { events in
            if case .dropped = continuation.yield(events) {
                overflowed.store(true, ordering: .relaxed)
                continuation.finish()
            }
        }
        do {
            var position: Int64
            if request.hasAfter {
                position = request.after
                try await runtime.export(EventFilter(afterID: request.after)) { page in
                    guard let last = page.last else { return }
                    var batch = RuntimeWire.batch(page)
                    batch.position = last.id
                    try await response.write(batch)
                    position = last.id
                }
            } else {
                position = try await runtime.store.reader.latest(EventFilter()).first?.id ?? 0
                var start = Ope_Runtime_V1_EventBatch()
                start.position = position
                try await response.write(start)
            }
            for await events in stream {
                let fresh = events.filter { $0.id > position }
                guard let last = fresh.last else { continue }
                var batch = RuntimeWire.batch(fresh)
                batch.position = last.id
                try await response.write(batch)
                position = last.id
            }
            await subscription.cancel()
        } catch {
            await subscription.cancel()
            throw RuntimeWire.rpcError(error)
        }
        if overflowed.load(ordering: .relaxed) {
            logger.notice("an edge fell too far behind the event stream; it subscribes again from its position")
            throw RPCError(code: .resourceExhausted, message: "too far behind: subscribe again from your last position")
        }
    }

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
    private func answering<Answer>(_ body: () async throws -> Answer) async throws -> Answer {
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

/// Chat messages a core answered recently, so a retried one is answered, not committed twice.
final class RecentChats: Sendable {
    struct Key: Hashable, Sendable {
        var session: String
        var user: String
        var clientID: String
    }

    private struct State {
        var events: [Key: Event] = [:]
        var order: [Key] = []
        var start = 0
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func event(for key: Key) -> Event? { state.withLock { $0.events[key] } }

    func remember(_ event: Event, for key: Key) {
        state.withLock { state in
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

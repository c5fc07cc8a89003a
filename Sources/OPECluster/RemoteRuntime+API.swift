import Foundation
import GRPCCore
import OPECore
import OPEModules
import OPERuntime
import OPEStore
import Synchronization

/// Each ``RuntimeAPI`` call as one call of `ope.runtime.v1.Runtime`.
extension RemoteRuntime: RuntimeAPI {
    // MARK: Lobby

    public func join(user: String, module: String, leaving: String?) async throws -> SessionManager.Status {
        var request = Ope_Runtime_V1_JoinRequest()
        request.user = user
        request.module = module
        if let leaving { request.leaving = leaving }
        return try await json(SessionManager.Status.self, idempotent: false) { [stub, metadata, request] in
            try await stub.join(request, metadata: metadata, options: $0)
        }
    }

    public func leaveLobby(user: String) async throws -> Bool {
        try await call(idempotent: true) { [stub, metadata] in try await stub.leaveLobby(Self.user(user), metadata: metadata, options: $0).value }
    }

    // MARK: A team's session

    public func leave(user: String, session: String) async throws -> SessionManager.Departure {
        try await json(SessionManager.Departure.self, idempotent: false) { [stub, metadata] in
            try await stub.leave(Self.sessionUser(session, user), metadata: metadata, options: $0)
        }
    }

    /// Over the room stream, with the rooms' other traffic (``RoomLink``).
    public func chat(_ text: String, clientID: String, session: String, by user: String) async throws -> Event {
        try await rooms.chat(text, clientID: clientID, session: session, by: user)
    }

    public func rotate(session: String, by actor: String) async throws -> Bool {
        try await call(idempotent: false) { [stub, metadata] in try await stub.rotate(Self.sessionActor(session, actor), metadata: metadata, options: $0).value
        }
    }

    public func hint(_ text: String, to target: HintTarget, by actor: String) async throws -> Int {
        var request = Ope_Runtime_V1_HintRequest()
        request.text = text
        request.actor = actor
        switch target {
        case .session(let id): request.target = .session(id)
        case .allLive(let module):
            var all = Ope_Runtime_V1_HintRequest.AllLive()
            if let module { all.module = module }
            request.target = .allLive(all)
        }
        return Int(try await call(idempotent: false) { [stub, metadata, request] in try await stub.hint(request, metadata: metadata, options: $0).value })
    }

    public func end(session: String, by actor: String) async throws -> Bool {
        try await call(idempotent: true) { [stub, metadata] in try await stub.end(Self.sessionActor(session, actor), metadata: metadata, options: $0).value }
    }

    public func runTests(task: String, session: String, by actor: String) async throws -> TaskTestService.Outcome {
        var request = Ope_Runtime_V1_RunTestsRequest()
        request.task = task
        request.session = session
        request.actor = actor
        return try await json(TaskTestService.Outcome.self, idempotent: false, deadline: configuration.testDeadline) { [stub, metadata, request] in
            try await stub.runTests(request, metadata: metadata, options: $0)
        }
    }

    public func restartWorkspace(session: String, by actor: String) async throws {
        _ = try await call(idempotent: false) { [stub, metadata] in
            try await stub.restartWorkspace(Self.sessionActor(session, actor), metadata: metadata, options: $0)
        }
    }

    public func connected(user: String, session: String) async throws {
        _ = try await call(idempotent: true) { [stub, metadata] in try await stub.connected(Self.sessionUser(session, user), metadata: metadata, options: $0) }
    }

    public func disconnected(user: String, session: String) async throws {
        _ = try await call(idempotent: true) { [stub, metadata] in
            try await stub.disconnected(Self.sessionUser(session, user), metadata: metadata, options: $0)
        }
    }

    public func setMatching(module: String, open: Bool?, mode: MatchingPolicy.Mode?, by actor: String) async throws -> MatchingPolicy {
        var request = Ope_Runtime_V1_SetMatchingRequest()
        request.module = module
        if let open { request.open = open }
        if let mode { request.mode = mode.rawValue }
        request.actor = actor
        return try await json(MatchingPolicy.self, idempotent: true) { [stub, metadata, request] in
            try await stub.setMatching(request, metadata: metadata, options: $0)
        }
    }

    // MARK: Queries

    public func session(_ id: String) async throws -> SessionStateMachine? {
        try await optionalJSON(SessionStateMachine.self) { [stub, metadata] in try await stub.session(Self.session(id), metadata: metadata, options: $0) }
    }

    public func currentSession(of user: String) async throws -> SessionStateMachine? {
        try await optionalJSON(SessionStateMachine.self) { [stub, metadata] in
            try await stub.currentSession(Self.user(user), metadata: metadata, options: $0)
        }
    }

    public func liveSessions() async throws -> [SessionStateMachine] {
        try await json([SessionStateMachine].self, idempotent: true) { [stub, metadata] in
            try await stub.liveSessions(Ope_Runtime_V1_Empty(), metadata: metadata, options: $0)
        }
    }

    public func committedStatus(of user: String) async throws -> SessionManager.Status {
        try await json(SessionManager.Status.self, idempotent: true) { [stub, metadata] in
            try await stub.committedStatus(Self.user(user), metadata: metadata, options: $0)
        }
    }

    public func lateJoinTimeLeft(session: String) async throws -> Duration? {
        let answer = try await call(idempotent: true) { [stub, metadata] in
            try await stub.lateJoinTimeLeft(Self.session(session), metadata: metadata, options: $0)
        }
        return answer.hasSeconds ? .milliseconds(Int64((answer.seconds * 1000).rounded())) : nil
    }

    public func queueSnapshot() async throws -> [String: [LobbyStateMachine.Entry]] {
        try await json([String: [LobbyStateMachine.Entry]].self, idempotent: true) { [stub, metadata] in
            try await stub.queueSnapshot(Ope_Runtime_V1_Empty(), metadata: metadata, options: $0)
        }
    }

    public func matching(of module: String) async throws -> MatchingPolicy? {
        try await optionalJSON(MatchingPolicy.self) { [stub, metadata] in try await stub.matching(Self.module(module), metadata: metadata, options: $0) }
    }

    public func groups(of module: String) async throws -> [String: [String]]? {
        try await optionalJSON([String: [String]].self) { [stub, metadata] in try await stub.groups(Self.module(module), metadata: metadata, options: $0) }
    }

    public func modules() async throws -> [Module] {
        try await json([Module].self, idempotent: true) { [stub, metadata] in
            try await stub.modules(Ope_Runtime_V1_Empty(), metadata: metadata, options: $0)
        }
    }

    public func module(id: String) async throws -> Module? {
        try await modules().first { $0.id == id }
    }

    public func moduleProblems() async throws -> [ModuleError] {
        try await json([ModuleError].self, idempotent: true) { [stub, metadata] in
            try await stub.moduleProblems(Ope_Runtime_V1_Empty(), metadata: metadata, options: $0)
        }
    }

    public func workspaceState(of session: String) async throws -> WorkspaceService.State? {
        try await optionalJSON(WorkspaceService.State.self) { [stub, metadata] in
            try await stub.workspaceState(Self.session(session), metadata: metadata, options: $0)
        }
    }

    public func activity(of session: SessionStateMachine) async throws -> TeamActivity {
        try await json(TeamActivity.self, idempotent: true) { [stub, metadata] in
            try await stub.activity(Self.session(session.id), metadata: metadata, options: $0)
        }
    }

    // MARK: Modules

    public func uploadGroups(csv: String, module: String, by actor: String) async throws -> [String: [String]] {
        var request = Ope_Runtime_V1_UploadGroupsRequest()
        request.csv = csv
        request.module = module
        request.actor = actor
        return try await json([String: [String]].self, idempotent: true) { [stub, metadata, request] in
            try await stub.uploadGroups(request, metadata: metadata, options: $0)
        }
    }

    public func syncModules(by actor: String) async throws -> ModuleSync {
        var request = Ope_Runtime_V1_ActorRequest()
        request.actor = actor
        return try await json(ModuleSync.self, idempotent: false, deadline: configuration.syncDeadline) { [stub, metadata, request] in
            try await stub.syncModules(request, metadata: metadata, options: $0)
        }
    }

    // MARK: Subscriptions

    /// The events of the rooms this edge has open, over the room stream: in log order, with
    /// nothing missed or repeated across a broken stream or a core's restart (``RoomLink``).
    public func subscribe(_ deliver: @escaping @Sendable ([Event]) -> Void) async -> RuntimeSubscription {
        rooms.subscribe(deliver)
    }

    public func openRoom(_ session: String) async throws { try await rooms.open(session) }

    public func closeRoom(_ session: String) async { rooms.close(session) }

    public func typing(_ note: TypingNote) async { rooms.typing(note) }

    public func followTyping(_ deliver: @escaping @Sendable (TypingNote) -> Void) async -> RuntimeSubscription {
        rooms.followTyping(deliver)
    }

    public func history(session: String, after: Int64?, page: ([Event]) async throws -> Void) async throws {
        var request = Ope_Runtime_V1_HistoryRequest()
        request.session = session
        if let after { request.after = after }
        try await readBatches(
            { [stub, metadata, request] options, read in try await stub.history(request, metadata: metadata, options: options, onResponse: read) },
            deadline: .seconds(120), page: page)
    }

    public func export(_ filter: EventFilter, page: ([Event]) async throws -> Void) async throws {
        var request = Ope_Runtime_V1_ExportRequest()
        request.filter = try JSONEncoder().encode(filter)
        try await readBatches(
            { [stub, metadata, request] options, read in try await stub.export(request, metadata: metadata, options: options, onResponse: read) },
            deadline: .seconds(24 * 3600), waitsOnCore: true, page: page)
    }

    public func events(_ filter: EventFilter, limit: Int) async throws -> [Event] {
        var request = Ope_Runtime_V1_ExportRequest()
        request.filter = try JSONEncoder().encode(filter)
        request.limit = Int64(limit)
        var events: [Event] = []
        try await readBatches(
            { [stub, metadata, request] options, read in try await stub.export(request, metadata: metadata, options: options, onResponse: read) },
            deadline: configuration.deadline, page: { events += $0 })
        return events
    }
}

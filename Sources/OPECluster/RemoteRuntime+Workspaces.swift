import Foundation
import GRPCCore
import Logging
import OPECore
import OPERuntime
import OPEWorkspaces
import Synchronization

/// Use of workspaces an edge's proxy saw and has not reported yet.
struct WorkspaceUseReport: Sendable {
    struct Editor: Hashable, Sendable {
        var session: String
        var user: String
        var document: String?
        var role: String?
    }

    struct Tally: Sendable {
        var updates = 0
        var bytes = 0

        static func + (a: Tally, b: Tally) -> Tally { Tally(updates: a.updates + b.updates, bytes: a.bytes + b.bytes) }
    }

    var touched: Set<String> = []
    var edits: [Editor: Tally] = [:]
    var activity: [EventDraft] = []

    var isEmpty: Bool { touched.isEmpty && edits.isEmpty && activity.isEmpty }

    var message: Ope_Runtime_V1_WorkspaceUse {
        var message = Ope_Runtime_V1_WorkspaceUse()
        message.touched = touched.sorted()
        message.edits = edits.map { editor, tally in
            var edit = Ope_Runtime_V1_WorkspaceUse.Edit()
            edit.session = editor.session
            edit.user = editor.user
            edit.updates = Int32(clamping: tally.updates)
            edit.bytes = Int64(tally.bytes)
            if let document = editor.document { edit.document = document }
            if let role = editor.role { edit.role = role }
            return edit
        }
        message.activity = activity.map(RuntimeWire.encodeDraft)
        return message
    }

    mutating func merge(_ other: WorkspaceUseReport) {
        touched.formUnion(other.touched)
        edits.merge(other.edits, uniquingKeysWith: +)
        activity = other.activity + activity
    }
}

/// The proxy's view of the workspaces this core runs: addresses cached for a few seconds (the fast
/// path asks nobody), use reported in batches.
extension RemoteRuntime: WorkspaceAccess {
    public func route(_ id: String) -> Workspace? {
        routes.withLock { routes in
            guard let known = routes[id] else { return nil }
            guard ContinuousClock.now - known.learnt < configuration.routeLifetime else {
                routes[id] = nil
                return nil
            }
            return known.workspace
        }
    }

    public func resolve(_ id: String) async throws -> Workspace? {
        if let known = route(id) { return known }
        var request = Ope_Runtime_V1_WorkspaceRequest()
        request.id = id
        let workspace = try await optionalJSON(Workspace.self) { [stub, metadata, request] in
            try await stub.resolveWorkspace(request, metadata: metadata, options: $0)
        }
        if let workspace { learn(workspace, as: id) }
        return workspace
    }

    public func open(session: String) async throws -> Workspace? {
        // The core waits up to 20 s for a start; the call waits a little longer.
        let message = try await call(idempotent: true, deadline: .seconds(30), waitsOnCore: true) { [stub, metadata] in
            try await stub.openWorkspace(Self.session(session), metadata: metadata, options: $0)
        }
        let workspace = try RuntimeWire.decodeOptional(Workspace.self, message)
        if let workspace { learn(workspace, as: workspace.id) }
        return workspace
    }

    public func state(of session: String) async throws -> WorkspaceService.State? {
        try await workspaceState(of: session)
    }

    public func touch(session: String) {
        use.withLock { _ = $0.touched.insert(session) }
    }

    public func noteEdit(_ edit: DocumentEdit, logger: Logger) async {
        let editor = WorkspaceUseReport.Editor(session: edit.session, user: edit.user, document: edit.document, role: edit.role)
        use.withLock { $0.edits[editor, default: .init()] = $0.edits[editor, default: .init()] + .init(updates: 1, bytes: edit.bytes) }
    }

    public func record(_ activity: [EventDraft], logger: Logger) async {
        use.withLock { $0.activity += activity }
    }

    func learn(_ workspace: Workspace, as id: String) {
        routes.withLock { $0[id] = (workspace, ContinuousClock.now) }
    }

    /// Reports the use seen since the last report; what cannot be sent now goes with the next one.
    func flushUse() async {
        let report = use.withLock { use -> WorkspaceUseReport in
            defer { use = WorkspaceUseReport() }
            return use
        }
        guard !report.isEmpty else { return }
        do {
            _ = try await call(idempotent: true) { [stub, metadata] in try await stub.noteWorkspaceUse(report.message, metadata: metadata, options: $0) }
        } catch {
            use.withLock { $0.merge(report) }
        }
    }
}

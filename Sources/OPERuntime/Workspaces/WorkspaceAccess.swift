import Logging
import OPECore
import OPEStore
import OPEWorkspaces

/// What the workspace proxy needs of the runtime: where a workspace runs, starting it when a
/// member opens it, and noting that it is used. In process it is the ``WorkspaceService`` and
/// ``EditActivity`` themselves (``LocalWorkspaceAccess``); on a cluster's edge, calls to the core
/// that holds the team.
public protocol WorkspaceAccess: Sendable {
    /// The running workspace reached under `/w/{id}/`, if known here without asking anyone: the
    /// proxy's fast path, taken for every request.
    func route(_ id: String) -> Workspace?
    /// The workspace reached under `/w/{id}/` (a session's id, or a warm pool's), asking whoever
    /// holds it; nil if none runs under that id.
    func resolve(_ id: String) async throws -> Workspace?
    /// Starts the session's workspace if it is not running, and waits for it; nil when it cannot
    /// run now (``state(of:)`` says why). Throws ``WorkspaceService/Busy`` (as a RuntimeError) when starts are at their limit.
    func open(session: String) async throws -> Workspace?
    /// Where the session's workspace stands.
    func state(of session: String) async throws -> WorkspaceService.State?
    /// The proxy relayed traffic for the session's workspace: it is not idle. Never waits.
    func touch(session: String)
    /// A member's document edit, seen on a collaboration socket (recorded coalesced).
    func noteEdit(_ edit: DocumentEdit, logger: Logger) async
    /// Attributed activity the proxy saw (runs, kernel and file actions, terminal use, refusals),
    /// appended to the session's record.
    func record(_ activity: [EventDraft], logger: Logger) async
}

/// The workspace service and edit activity of this process, as the proxy uses them.
public struct LocalWorkspaceAccess: WorkspaceAccess {
    public let workspaces: WorkspaceService
    public let edits: EditActivity

    public init(workspaces: WorkspaceService, edits: EditActivity) {
        self.workspaces = workspaces
        self.edits = edits
    }

    public func route(_ id: String) -> Workspace? { workspaces.route(id) }

    public func resolve(_ id: String) async throws -> Workspace? { workspaces.route(id) }

    public func open(session: String) async throws -> Workspace? {
        do {
            return try await workspaces.open(session: session)
        } catch let busy as WorkspaceService.Busy {
            throw RuntimeError(busy)
        }
    }

    public func state(of session: String) async throws -> WorkspaceService.State? { await workspaces.state(of: session) }

    public func touch(session: String) { workspaces.touch(session: session) }

    public func noteEdit(_ edit: DocumentEdit, logger: Logger) async { await edits.note(edit, logger: logger) }

    public func record(_ activity: [EventDraft], logger: Logger) async {
        do {
            _ = try await edits.events.append(contentsOf: activity)
        } catch {
            logger.warning("workspace activity not recorded", metadata: ["events": "\(activity.count)", "error": "\(error)"])
        }
    }
}

extension Runtime {
    /// The proxy's view of this runtime's workspaces; nil without workspaces.
    public var workspaceAccess: LocalWorkspaceAccess? { workspaces.map { LocalWorkspaceAccess(workspaces: $0, edits: edits) } }
}

import Foundation
import OPECore
import OPEKube

/// The observed state the operator reports on `OPEModule` and `OPEUser` objects, as pure
/// functions of what is cached: a module's validation, whether it is open and its live sessions;
/// a user's current session. (The lobby's waiting count and a user's last sign-in are the
/// gateway's to write: only it sees them.)
public enum StatusReconciler {
    /// Phases that hold a workspace or will.
    static let live: Set<SessionResource.Phase> = [.pending, .starting, .active]

    static func isLive(_ session: SessionResource) -> Bool {
        session.metadata.deletionTimestamp == nil && live.contains(session.status?.phase ?? .pending)
    }

    /// - Parameter problems: the module's problems as `ope module validate` words them (empty: valid).
    public static func moduleStatus(_ module: ModuleResource, problems: [String], sessions: [SessionResource], now: Date) -> ModuleResource.Status {
        var status = module.status ?? ModuleResource.Status()
        status.observedGeneration = module.metadata.generation
        status.validated = problems.isEmpty
        status.validationErrors = problems.isEmpty ? nil : problems
        status.open = module.spec.matching?.open ?? true
        status.liveSessions = sessions.filter { $0.spec.module == module.name && $0.namespace == module.namespace && isLive($0) }.count
        var conditions = status.conditions ?? []
        conditions.set(
            Condition(
                type: "Validated", status: problems.isEmpty ? "True" : "False", observedGeneration: module.metadata.generation, lastTransitionTime: now,
                reason: problems.isEmpty ? "Valid" : "Invalid", message: problems.isEmpty ? "the module is valid" : problems.joined(separator: "; ")))
        status.conditions = conditions
        return status
    }

    /// The user's live session (the newest, if the record shows several), or nil.
    public static func userStatus(_ user: UserResource, sessions: [SessionResource]) -> UserResource.Status {
        var status = user.status ?? UserResource.Status()
        status.observedGeneration = user.metadata.generation
        status.currentSession =
            sessions.filter { session in
                isLive(session) && session.namespace == user.namespace && session.spec.members.contains { $0.user == user.spec.username }
            }
            .max { ($0.metadata.creationTimestamp ?? .distantPast, $0.name) < ($1.metadata.creationTimestamp ?? .distantPast, $1.name) }?.name
        return status
    }
}

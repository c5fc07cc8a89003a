import Foundation
import OPEWorkspaces
import Synchronization

/// Callers waiting for a session's start to finish; a waiter that is cancelled (its wait ran out)
/// gets nil at once. Kept outside the actor so cancellation can answer without hopping to it.
final class StartWaiters: Sendable {
    private enum Entry {
        /// Registered by the actor; its task has not begun to wait yet.
        case registered(String)
        case waiting(String, CheckedContinuation<Workspace?, Never>)
        /// The start ended before its task began to wait.
        case finished(Workspace?)
        case cancelled
    }

    private let entries = Mutex<[UUID: Entry]>([:])

    /// A wait for `session`'s start, counted from now: a start that ends before ``wait(_:)`` is
    /// called still answers it.
    func register(_ session: String) -> UUID {
        let id = UUID()
        entries.withLock { $0[id] = .registered(session) }
        return id
    }

    func wait(_ ticket: UUID) async -> Workspace? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let answer = entries.withLock { entries -> Workspace?? in
                    switch entries[ticket] {
                    case .registered(let session)?:
                        entries[ticket] = .waiting(session, continuation)
                        return .none
                    case .finished(let workspace)?:
                        entries[ticket] = nil
                        return .some(workspace)
                    case .waiting?, .cancelled?, nil:
                        entries[ticket] = nil
                        return .some(nil)
                    }
                }
                if let answer { continuation.resume(returning: answer) }
            }
        } onCancel: {
            let waiting = entries.withLock { entries -> CheckedContinuation<Workspace?, Never>? in
                switch entries[ticket] {
                case .waiting(_, let continuation)?:
                    entries[ticket] = nil
                    return continuation
                case .registered?:
                    entries[ticket] = .cancelled
                    return nil
                case .finished?, .cancelled?, nil:
                    return nil
                }
            }
            waiting?.resume(returning: nil)
        }
    }

    /// The start of `session` is over: its waiters get the workspace (nil if it failed).
    func finish(_ session: String, with workspace: Workspace?) {
        let done = entries.withLock { entries -> [CheckedContinuation<Workspace?, Never>] in
            var done: [CheckedContinuation<Workspace?, Never>] = []
            for (id, entry) in entries {
                switch entry {
                case .waiting(let waiting, let continuation) where waiting == session:
                    entries[id] = nil
                    done.append(continuation)
                case .registered(let waiting) where waiting == session:
                    entries[id] = .finished(workspace)
                default:
                    continue
                }
            }
            return done
        }
        for continuation in done { continuation.resume(returning: workspace) }
    }
}

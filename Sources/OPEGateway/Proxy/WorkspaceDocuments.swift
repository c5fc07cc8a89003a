import Synchronization

/// Which document a collaboration room edits, per session: JupyterLab names rooms by the file's
/// id (`/api/collaboration/room/json:notebook:<id>`), and says which path has which id when it
/// opens a document (`PUT /api/collaboration/session/<path>` answers with its `fileId`), which
/// the proxy relays and notes here.
final class WorkspaceDocuments: Sendable {
    private struct Known {
        var paths: [String: [String: String]] = [:]
        var count = 0
    }

    private let known = Mutex(Known())
    /// Enough for every team's documents for a long while. Past it the map starts afresh (like
    /// ``WorkspaceAccessCache``): a room opened before then records its edits without a path
    /// until JupyterLab opens the document again.
    let capacity = 100_000

    func learn(session: String, fileID: String, path: String) {
        known.withLock { known in
            if known.paths[session]?[fileID] == nil {
                if known.count >= capacity { known = Known() }
                known.count += 1
            }
            known.paths[session, default: [:]][fileID] = path
        }
    }

    /// The path of the document a room path (`…/api/collaboration/room/<format>:<type>:<id>`) edits.
    func document(session: String, roomPath: String) -> String? {
        guard let room = roomPath.split(separator: "/").last?.split(separator: "?").first, let id = room.split(separator: ":").last else { return nil }
        return known.withLock { $0.paths[session]?[String(id)] }
    }
}

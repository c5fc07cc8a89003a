import Synchronization

/// Which document a collaboration room edits, per session: JupyterLab names rooms by the file's
/// id (`/api/collaboration/room/json:notebook:<id>`), and says which path has which id when it
/// opens a document (`PUT /api/collaboration/session/<path>` answers with its `fileId`), which
/// the proxy relays and notes here.
final class WorkspaceDocuments: Sendable {
    private let paths = Mutex<[String: [String: String]]>([:])
    /// Enough for any team's files; past it a session starts afresh.
    let perSession = 10_000

    func learn(session: String, fileID: String, path: String) {
        paths.withLock { paths in
            if paths[session, default: [:]].count >= perSession { paths[session] = [:] }
            paths[session, default: [:]][fileID] = path
        }
    }

    /// The path of the document a room path (`…/api/collaboration/room/<format>:<type>:<id>`) edits.
    func document(session: String, roomPath: String) -> String? {
        guard let room = roomPath.split(separator: "/").last?.split(separator: "?").first, let id = room.split(separator: ":").last else { return nil }
        return paths.withLock { $0[session]?[String(id)] }
    }

    func forget(session: String) { paths.withLock { $0[session] = nil } }
}

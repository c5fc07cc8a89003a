import Foundation
import HTTPTypes

/// What a request through the proxy does to the team's workspace, read from its method and path:
/// the file and kernel actions the research record attributes, and which of them only the driver
/// may do when roles are enforced.
enum WorkspaceAction: Sendable, Equatable {
    /// `POST /api/contents/<folder>`: a new file or folder (the answer names it).
    case createFile
    /// `PUT /api/contents/<path>`: a whole file written (an upload, or a save outside collaboration).
    case writeFile(path: String)
    /// `PATCH /api/contents/<path>`: renamed (the request names the new path).
    case renameFile(path: String)
    case deleteFile(path: String)
    /// Checkpoints and other changes to files that the record does not need.
    case otherFileChange
    /// `POST /api/kernels`.
    case startKernel
    /// `POST /api/kernels/<id>/restart|interrupt`, `DELETE /api/kernels/<id>`.
    case kernel(id: String, action: String)
    /// `PUT /api/collaboration/session/<path>`: a document opened for collaboration (the answer
    /// gives the file id its room is named by).
    case openDocument(path: String)

    /// The action of `method` on `path` (`/w/<workspace>/api/...`), if it is one of these.
    init?(method: HTTPRequest.Method, path fullPath: String, workspace: String) {
        var path = Substring(fullPath.split(separator: "?", maxSplits: 1).first ?? "")
        let prefix = "/w/\(workspace)"
        if path.hasPrefix(prefix) { path = path.dropFirst(prefix.count) }
        func rest(after stem: String) -> String? {
            guard path.hasPrefix(stem) else { return nil }
            let tail = path.dropFirst(stem.count)
            return String(tail).removingPercentEncoding ?? String(tail)
        }
        if let file = rest(after: "/api/contents/") ?? (path == "/api/contents" ? "" : nil) {
            if file.hasSuffix("/checkpoints") || file.contains("/checkpoints/") {
                guard method != .get else { return nil }
                self = .otherFileChange
                return
            }
            switch method {
            case .post: self = .createFile
            case .put: self = .writeFile(path: file)
            case .patch: self = .renameFile(path: file)
            case .delete: self = .deleteFile(path: file)
            default: return nil
            }
        } else if path == "/api/kernels" || path == "/api/kernels/" {
            guard method == .post else { return nil }
            self = .startKernel
        } else if let kernel = rest(after: "/api/kernels/") {
            let parts = kernel.split(separator: "/")
            guard let id = parts.first else { return nil }
            if method == .delete, parts.count == 1 {
                self = .kernel(id: String(id), action: "shutdown")
            } else if method == .post, parts.count == 2, parts[1] == "restart" || parts[1] == "interrupt" {
                self = .kernel(id: String(id), action: parts[1] == "restart" ? "restarted" : "interrupted")
            } else {
                return nil
            }
        } else if let document = rest(after: "/api/collaboration/session/"), method == .put {
            self = .openDocument(path: document)
        } else {
            return nil
        }
    }

    /// Only the driver may do it when roles are enforced. Starting a kernel changes nothing (a
    /// navigator opening a notebook starts one); running code in it is what counts.
    var changesWork: Bool { !opensDocument && self != .startKernel }

    var opensDocument: Bool {
        if case .openDocument = self { return true }
        return false
    }

    /// It goes into the research record.
    var isRecorded: Bool {
        switch self {
        case .otherFileChange, .openDocument: false
        default: true
        }
    }

    /// What a refusal of it is called in the record.
    var refusal: String {
        switch self {
        case .startKernel, .kernel: "kernel"
        default: "file"
        }
    }
}

/// What a proxied WebSocket is, by its path: the proxy looks into these three kinds.
enum WorkspaceSocket: Sendable, Equatable {
    /// `/api/collaboration/room/...`: a document's Yjs updates.
    case collaboration
    /// `/api/kernels/<id>/channels`: runs and their output.
    case kernel(id: String)
    /// `/terminals/websocket/<name>`.
    case terminal(name: String)
    case other

    init(path fullPath: String, workspace: String) {
        var path = Substring(fullPath.split(separator: "?", maxSplits: 1).first ?? "")
        let prefix = "/w/\(workspace)"
        if path.hasPrefix(prefix) { path = path.dropFirst(prefix.count) }
        let parts = path.split(separator: "/")
        if path.hasPrefix("/api/collaboration/room/") {
            self = .collaboration
        } else if parts.count == 4, parts[0] == "api", parts[1] == "kernels", parts[3] == "channels" {
            self = .kernel(id: String(parts[2]))
        } else if parts.count == 3, parts[0] == "terminals", parts[1] == "websocket" {
            self = .terminal(name: String(parts[2]))
        } else {
            self = .other
        }
    }
}

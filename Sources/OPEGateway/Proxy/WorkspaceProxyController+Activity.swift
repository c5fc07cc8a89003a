import Foundation
import Logging
import NIOCore
import OPECore
import OPERuntime

/// The attributed record of what members do in the workspace, from the requests and frames the
/// proxy relays (docs/activity.md).
extension WorkspaceProxyController {
    /// Appends one event by `user` in `session`, stamped now.
    func record(_ type: EventType, _ payload: some EventPayload, user: String, session: String, logger: Logger) async {
        await workspaces.record([EventDraft(time: clock.now, type: type, actor: user, session: session, payload: payload)], logger: logger)
    }

    func role(of user: String, in session: String) -> String? { roles.team(session)?.role(of: user) }

    /// A request JupyterLab carried out: the file or kernel action it was, and the file ids of
    /// documents opened for collaboration.
    func noted(_ action: WorkspaceAction, request: ByteBuffer?, answer: ByteBuffer, user: String, session: String, logger: Logger) async {
        func field(_ name: String, of buffer: ByteBuffer?) -> String? {
            guard let buffer, buffer.readableBytes > 0, case .object(let fields)? = try? JSONValue.parse(String(buffer: buffer)),
                case .string(let value)? = fields[name]
            else { return nil }
            return value
        }
        let role = role(of: user, in: session)
        switch action {
        case .openDocument(let path):
            if let id = field("fileId", of: answer) { documents.learn(session: session, fileID: id, path: path) }
        case .createFile:
            guard let path = field("path", of: answer) else { return }
            await record(.workspaceFile, FileActionPayload(action: "created", path: path, role: role), user: user, session: session, logger: logger)
        case .writeFile(let path):
            // A chunked upload is one action: recorded with its last chunk (-1), or when unchunked.
            if let buffer = request, case .object(let fields)? = try? JSONValue.parse(String(buffer: buffer)),
                case .number(let chunk)? = fields["chunk"], chunk != -1
            {
                return
            }
            await record(.workspaceFile, FileActionPayload(action: "uploaded", path: path, role: role), user: user, session: session, logger: logger)
        case .renameFile(let path):
            let newPath = field("path", of: request) ?? field("path", of: answer)
            await record(
                .workspaceFile, FileActionPayload(action: "renamed", path: path, newPath: newPath, role: role), user: user, session: session,
                logger: logger)
        case .deleteFile(let path):
            await record(.workspaceFile, FileActionPayload(action: "deleted", path: path, role: role), user: user, session: session, logger: logger)
        case .startKernel:
            let payload = KernelActionPayload(action: "started", kernel: field("id", of: answer), kernelName: field("name", of: answer), role: role)
            await record(.workspaceKernel, payload, user: user, session: session, logger: logger)
        case .kernel(let id, let action):
            await record(.workspaceKernel, KernelActionPayload(action: action, kernel: id, role: role), user: user, session: session, logger: logger)
        case .otherFileChange: break
        }
    }

    /// A refused request (one event each: they are rare, unlike refused frames).
    func refused(_ what: String, reason: String, user: String, session: String, logger: Logger) async {
        let payload = RefusedPayload(what: what, reason: reason, role: role(of: user, in: session))
        await record(.workspaceRefused, payload, user: user, session: session, logger: logger)
    }
}

import Foundation
import HummingbirdWebSocket
import Logging
import NIOCore
import OPECore
import OPERuntime
import Synchronization

/// Looks into one member's collaboration, kernel or terminal socket as the proxy relays it: records
/// what the member does (edits, runs, terminal use) and, when roles are enforced and the member is
/// not driving, keeps their edits, runs and typing from the workspace and tells them why.
///
/// Refused frames are counted, not recorded one by one: the first at once, then at most one
/// `workspace.refused` event a minute with the count, and what is left when the socket closes.
final class FrameInspector: Sendable {
    let proxy: WorkspaceProxyController
    let member: String
    let session: String
    let socket: WorkspaceSocket
    let logger: Logger
    /// The document a collaboration socket edits.
    let document: String?
    let kernel: KernelActivity?

    private struct Tallies {
        var refused = ActivityTally()
        var terminal = ActivityTally()
        var lastReason = ""
    }

    private let tallies = Mutex(Tallies())

    init(proxy: WorkspaceProxyController, member: String, session: String, socket: WorkspaceSocket, path: String, logger: Logger) {
        self.proxy = proxy
        self.member = member
        self.session = session
        self.socket = socket
        self.logger = logger
        document = socket == .collaboration ? proxy.documents.document(session: session, roomPath: path) : nil
        if case .kernel(let id) = socket { kernel = KernelActivity(kernel: id) } else { kernel = nil }
        if case .terminal(let name) = socket {
            recordLater(.workspaceTerminal, TerminalPayload(action: "opened", terminal: name, role: proxy.role(of: member, in: session)))
        }
    }

    var now: Date { proxy.clock.now }

    var decision: WorkspaceRoles.Decision { proxy.roles.decision(for: member, in: session, now: now) }

    var role: String? { proxy.role(of: member, in: session) }

    /// A message from the member's browser: whether it goes on to the workspace, and what the
    /// proxy answers the member itself.
    func fromMember(_ message: WebSocketMessage) async -> (relay: Bool, answers: [String]) {
        switch (socket, message) {
        case (.collaboration, .binary(let data)):
            // Yjs sync messages that change the document: an update, or the member's own changes
            // sent when the document syncs. Awareness (cursors) always passes.
            let kind = YjsMessage.kind(of: data)
            guard kind != .other else { return (true, []) }
            if case .readOnly(let reason) = decision {
                // Kept from the team like any change (a later change of this page builds on it), but
                // JupyterLab's own bookkeeping is not something the member tried to do.
                if kind == .edit { await refuse(reason: reason, bytes: data.readableBytes) }
                return (false, [])
            }
            if kind == .edit, EditActivity.isDocumentUpdate(data), proxy.notesEdits {
                let edit = DocumentEdit(session: session, user: member, document: document, bytes: data.readableBytes, role: role)
                await proxy.workspaces.noteEdit(edit, logger: logger)
            }
            return (true, [])
        case (.kernel, .text(let text)):
            guard let kernel, let request = KernelActivity.executeRequest(text) else { return (true, []) }
            if case .readOnly(let reason) = decision {
                let payload = ExecutedPayload(
                    cell: request.cell, code: request.code, outcome: "refused", errorName: "ReadOnly", errorValue: reason, kernel: kernel.kernel,
                    role: role)
                recordLater(.workspaceExecuted, payload)
                return (false, KernelActivity.refusal(request: request.header, session: request.session, reason: reason, at: now))
            }
            kernel.started(request.id, code: request.code, cell: request.cell, at: now)
            return (true, [])
        case (.terminal(let name), .text(let text)):
            guard text.hasPrefix("[\"stdin\"") else { return (true, []) }
            if case .readOnly(let reason) = decision {
                // Told with the first refused keystroke, then about once a minute.
                let tell = await refuse(reason: reason, bytes: text.utf8.count)
                let notice = JSONValue.array([.string("stdout"), .string("\r\n\u{1b}[33m[OPE] read-only: \(reason)\u{1b}[0m\r\n")])
                return (false, tell ? [notice.jsonText] : [])
            }
            if let due = tallies.withLock({ $0.terminal.add(bytes: text.utf8.count, at: now) }) {
                await recordInput(name, due)
            }
            return (true, [])
        default:
            return (true, [])
        }
    }

    /// A text message from the workspace (kernel sockets: a run's output and its end).
    func fromWorkspace(_ text: String) async {
        guard let kernel, let (run, outcome, count, duration) = kernel.fromKernel(text, at: now) else { return }
        let payload = ExecutedPayload(
            cell: run.cell, code: run.code, outcome: outcome, errorName: run.errorName, errorValue: run.errorValue,
            output: run.output.isEmpty ? nil : run.output, executionCount: count, durationMs: duration, kernel: kernel.kernel, role: role)
        recordLater(.workspaceExecuted, payload)
    }

    /// Appends an event without holding up the frame it is about: the relay never waits for the
    /// log's commit.
    private func recordLater(_ type: EventType, _ payload: some EventPayload) {
        Task { [proxy, member, session, logger] in await proxy.record(type, payload, user: member, session: session, logger: logger) }
    }

    /// The socket closed: what is still counted is recorded.
    func finish() async {
        let (refused, input, reason) = tallies.withLock { ($0.refused.drain(), $0.terminal.drain(), $0.lastReason) }
        if let refused { await recordRefused(refused.count, reason: reason) }
        if let input, case .terminal(let name) = socket { await recordInput(name, input) }
    }

    /// Counts a refused frame; whether it was recorded (the first, then about once a minute).
    @discardableResult
    private func refuse(reason: String, bytes: Int) async -> Bool {
        let due = tallies.withLock { tallies -> Int? in
            tallies.lastReason = reason
            return tallies.refused.add(bytes: bytes, at: now)?.count
        }
        guard let due else { return false }
        await recordRefused(due, reason: reason)
        return true
    }

    private func recordRefused(_ count: Int, reason: String) async {
        let kind: String
        switch socket {
        case .collaboration: kind = "edit"
        case .kernel: kind = "execute"
        case .terminal: kind = "terminal"
        case .other: kind = "other"  // never: only the three kinds above are looked into
        }
        let payload = RefusedPayload(what: kind, reason: reason, document: document, count: count, role: role)
        recordLater(.workspaceRefused, payload)
    }

    private func recordInput(_ terminal: String, _ tally: (count: Int, bytes: Int)) async {
        let payload = TerminalPayload(action: "input", terminal: terminal, inputs: tally.count, bytes: tally.bytes, role: role)
        recordLater(.workspaceTerminal, payload)
    }
}

import Foundation
import Metrics
import OPECore
import Synchronization

/// One member's kernel connection as the proxy relays it: which of their messages run code, what
/// the kernel answered, and the refusals it sends back itself when the member may not run code.
///
/// Jupyter's kernel WebSocket (the legacy protocol the proxy negotiates: one JSON text message per
/// kernel message, with a `channel`) carries the member's `execute_request`s on the shell channel
/// and the kernel's outputs (iopub) and `execute_reply` back. Only while one of the member's runs
/// is in flight does the proxy parse what the kernel sends; the rest passes untouched.
final class KernelActivity: Sendable {
    /// The longest output kept with a run (head and tail).
    static let outputLimit = 4000

    struct Run: Sendable {
        var code: String
        var cell: String?
        var started: Date
        var output = ""
        var errorName: String?
        var errorValue: String?
        /// The reply (shell channel): its outcome, execution count and the run's duration.
        var reply: (outcome: String, count: Int?, durationMs: Int)?
        /// Whether the kernel went idle after it (iopub): every output of the run was sent before.
        var idle = false
    }

    private let pending = Mutex<[String: Run]>([:])
    /// Messages the proxy looked into and could not read: relayed unchanged, and counted here.
    static let unreadable = Counter(label: "ope_workspace_frames_unreadable_total", dimensions: [("socket", "kernel")])
    let kernel: String?

    init(kernel: String?) { self.kernel = kernel }

    /// A run a member asked for: its message id and what it runs; nil for any other message.
    static func executeRequest(_ text: String) -> (id: String, code: String, cell: String?, header: JSONValue, session: String?)? {
        // Most of a member's messages are not runs (completion, inspection, comm traffic): look
        // before parsing.
        guard text.contains("execute_request") else { return nil }
        guard let message = try? JSONValue.parse(text) else {
            unreadable.increment()
            return nil
        }
        guard case .object(let fields) = message, case .object(let header)? = fields["header"],
            header["msg_type"] == .string("execute_request"), case .string(let id)? = header["msg_id"],
            case .object(let content)? = fields["content"], case .string(let code)? = content["code"]
        else { return nil }
        var cell: String?
        if case .object(let metadata)? = fields["metadata"], case .string(let id)? = metadata["cellId"] { cell = id }
        var session: String?
        if case .string(let value)? = header["session"] { session = value }
        return (id, code, cell, .object(header), session)
    }

    func started(_ id: String, code: String, cell: String?, at time: Date) {
        pending.withLock { $0[id] = Run(code: code, cell: cell, started: time) }
    }

    /// A message from the kernel: a finished run if this message ends one. A run ends with its
    /// reply and the kernel going idle after it, whichever comes last: the reply is on the shell
    /// channel and the outputs on iopub, and jupyter_server relays the two in the order they reach
    /// it, so an output may come after the reply; only `idle` says that none is left.
    func fromKernel(_ text: String, at time: Date) -> (run: Run, outcome: String, executionCount: Int?, durationMs: Int)? {
        guard pending.withLock({ !$0.isEmpty }) else { return nil }
        guard let message = try? JSONValue.parse(text) else {
            Self.unreadable.increment()
            return nil
        }
        guard case .object(let fields) = message,
            case .object(let parent)? = fields["parent_header"], case .string(let id)? = parent["msg_id"],
            case .object(let header)? = fields["header"], case .string(let type)? = header["msg_type"]
        else { return nil }
        let content: [String: JSONValue]
        if case .object(let value)? = fields["content"] { content = value } else { content = [:] }
        return pending.withLock { pending in
            guard var run = pending[id] else { return nil }
            switch type {
            case "stream":
                if case .string(let text)? = content["text"] { run.output += text }
            case "execute_result", "display_data":
                if case .object(let data)? = content["data"], case .string(let text)? = data["text/plain"] { run.output += text + "\n" }
            case "error":
                if case .string(let name)? = content["ename"] { run.errorName = name }
                if case .string(let value)? = content["evalue"] { run.errorValue = value }
                run.output += "\(run.errorName ?? "Error"): \(run.errorValue ?? "")\n"
            case "execute_reply":
                var outcome = "ok"
                if case .string(let status)? = content["status"] { outcome = status }
                if outcome == "error" {
                    if run.errorName == nil, case .string(let name)? = content["ename"] { run.errorName = name }
                    if run.errorValue == nil, case .string(let value)? = content["evalue"] { run.errorValue = value }
                }
                var count: Int?
                if case .number(let number)? = content["execution_count"] { count = Int(number) }
                run.reply = (outcome, count, max(0, Int(time.timeIntervalSince(run.started) * 1000)))
            case "status":
                if content["execution_state"] == .string("idle") { run.idle = true }
            default: break
            }
            guard run.idle, let reply = run.reply else {
                pending[id] = run
                return nil
            }
            pending[id] = nil
            run.output = Self.clipped(run.output)
            return (run, reply.outcome, reply.count, reply.durationMs)
        }
    }

    static func clipped(_ text: String) -> String {
        guard text.count > outputLimit else { return text }
        let half = outputLimit / 2
        return String(text.prefix(half)) + "\n…\n" + String(text.suffix(half))
    }

    /// What the proxy sends the member instead of running their code: the error a cell shows,
    /// the reply that ends the run, and the kernel going idle again (JupyterLab waits for both).
    static func refusal(request header: JSONValue, session: String?, reason: String, at time: Date) -> [String] {
        func message(channel: String, type: String, content: [String: JSONValue]) -> String {
            var reply: [String: JSONValue] = [
                "msg_id": .string(UUID().uuidString.lowercased()), "msg_type": .string(type), "username": .string("ope"),
                "date": .string(ISO8601DateFormatter().string(from: time)), "version": .string("5.3"),
            ]
            if let session { reply["session"] = .string(session) }
            // Jupyter's legacy protocol repeats the header's id and type at the top.
            return JSONValue.jsonText(object: [
                "msg_id": reply["msg_id"]!, "msg_type": .string(type), "channel": .string(channel), "header": .object(reply), "parent_header": header,
                "metadata": .object([:]), "content": .object(content),
                "buffers": .array([]),
            ])
        }
        let error: [String: JSONValue] = [
            "ename": .string("ReadOnly"), "evalue": .string(reason),
            "traceback": .array([.string("\u{1b}[0;31mReadOnly\u{1b}[0m: \(reason). This run did not reach the kernel.")]),
        ]
        var reply = error
        reply["status"] = .string("error")
        reply["execution_count"] = .null
        return [
            message(channel: "iopub", type: "error", content: error),
            message(channel: "shell", type: "execute_reply", content: reply),
            message(channel: "iopub", type: "status", content: ["execution_state": .string("idle")]),
        ]
    }
}

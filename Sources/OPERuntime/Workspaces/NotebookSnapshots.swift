import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OPECore
import OPEStore
import OPEWorkspaces
import ServiceLifecycle

/// Records what the notebooks a team edits look like, so the replay can show them as of any
/// moment: `workspace.snapshot` events (actor `system`), written from the workspace's own
/// contents API.
///
/// Cheap by construction: it looks only at sessions whose members edited (a `workspace.edited`
/// event) in the last `hotFor`, every `interval` at most, and records a notebook only when its
/// cells' hash changed since its last snapshot. The notebooks are those the edits name plus the
/// module's task notebooks (`*.ipynb` starter files). When a session ends it takes a last look
/// before the workspace goes away (``lastLook(at:)``; from the files on disk if the workspace was
/// stopped as idle and they are on this machine), and another at shutdown for teams still editing.
public actor NotebookSnapshots: Service {
    /// Where a session's notebooks can be read now.
    public struct Place: Sendable {
        /// The running workspace, if it runs.
        public var workspace: Workspace?
        /// The group's folder, if this machine has it (local workspaces).
        public var directory: String?
        /// The module's task notebooks.
        public var notebooks: [String]

        public init(workspace: Workspace?, directory: String?, notebooks: [String]) {
            self.workspace = workspace
            self.directory = directory
            self.notebooks = notebooks
        }
    }

    /// Reads a notebook (its nbformat JSON object) from a running workspace; nil when it has no
    /// such file.
    public typealias Fetch = @Sendable (Workspace, String) async throws -> [String: JSONValue]?

    let locate: @Sendable (String) async -> Place
    let fetch: Fetch
    let events: EventLog
    let clock: any PlatformClock
    let interval: Duration
    let hotFor: Duration
    let logger: Logger

    /// Sessions with edits, and when the last was seen (on `clock`).
    private var hot: [String: Date] = [:]
    /// The notebooks each session's edits named, in the order first seen.
    private var edited: [String: [String]] = [:]
    /// The hash of each notebook's last snapshot, per session.
    private var hashes: [String: [String: String]] = [:]
    /// Each notebook's cells at its last snapshot, per session, to say which cells changed.
    private var lastCells: [String: [String: [SnapshotPayload.Cell]]] = [:]
    /// Who edited each notebook since its last snapshot, per session.
    private var editors: [String: [String: [String]]] = [:]
    /// How many timed passes have run (tests wait on it).
    public private(set) var passes = 0

    public init(
        locate: @escaping @Sendable (String) async -> Place, fetch: @escaping Fetch = NotebookSnapshots.fetchOverHTTP, events: EventLog,
        clock: any PlatformClock, interval: Duration = .seconds(10), hotFor: Duration = .seconds(120),
        logger: Logger = Logger(label: "ope.snapshots")
    ) {
        self.locate = locate
        self.fetch = fetch
        self.events = events
        self.clock = clock
        self.interval = interval
        self.hotFor = hotFor
        self.logger = logger
    }

    /// Snapshots of the sessions' workspaces in `workspaces`, with the task notebooks of their modules.
    public init(workspaces: WorkspaceService, sessions: SessionManager, events: EventLog, clock: any PlatformClock, logger: Logger) {
        self.init(
            locate: { session in
                var workspace: Workspace?
                if case .ready(let running)? = await workspaces.state(of: session) { workspace = running }
                let notebooks = await sessions.module(ofSession: session)?.tasks.flatMap(\.starterFiles).filter { $0.hasSuffix(".ipynb") } ?? []
                return Place(workspace: workspace, directory: await workspaces.files(of: session)?.directory, notebooks: notebooks)
            }, events: events, clock: clock, logger: logger)
    }

    public func run() async throws {
        let (stream, continuation) = AsyncStream<[Event]>.makeStream(bufferingPolicy: .unbounded)
        let subscription = await events.subscribe { continuation.yield($0) }
        await withDiscardingTaskGroup { group in
            group.addTask { [self] in
                for await batch in stream { await self.observe(batch) }
            }
            group.addTask { [self] in
                await self.every(interval, on: clock) { now in await self.pass(now) }
            }
            try? await gracefulShutdown()
            continuation.finish()
            group.cancelAll()
        }
        await events.unsubscribe(subscription)
        // Teams still editing: their notebooks as the shutdown found them.
        for session in hot.keys.sorted() { await snapshot(session, final: true) }
    }

    private func observe(_ batch: [Event]) async {
        for event in batch {
            guard let session = event.session else { continue }
            if let edit = event.decode(EditedPayload.self) {
                hot[session] = clock.now
                if let document = edit.document.map(Self.path), document.hasSuffix(".ipynb") {
                    if !(edited[session]?.contains(document) ?? false) { edited[session, default: []].append(document) }
                    if let editor = event.actor, !(editors[session]?[document]?.contains(editor) ?? false) {
                        editors[session, default: [:]][document, default: []].append(editor)
                    }
                }
            }
        }
    }

    /// The session is ending: records its notebooks as they are now, if the team edited, and
    /// forgets it. Run before its workspace goes away (``WorkspaceService/beforeFinishing(_:)``):
    /// waiting for the phase change to reach this actor lost that race to the workspace's stop.
    public func lastLook(at session: String) async {
        guard hot[session] != nil || hashes[session] != nil else { return }
        await snapshot(session, final: true)
        hot[session] = nil
        edited[session] = nil
        hashes[session] = nil
        lastCells[session] = nil
        editors[session] = nil
    }

    /// One pass: every session edited within `hotFor`.
    func pass(_ now: Date) async {
        defer { passes += 1 }
        for (session, last) in hot.sorted(by: { $0.key < $1.key }) {
            if now.timeIntervalSince(last) > hotFor.timeInterval {
                hot[session] = nil
            } else {
                await snapshot(session, final: false)
            }
        }
    }

    /// Records each of the session's notebooks that changed since its last snapshot. `final`:
    /// the session is ending; read the files on disk if the workspace has already stopped.
    private func snapshot(_ session: String, final: Bool) async {
        let place = await locate(session)
        var documents = edited[session] ?? []
        for notebook in place.notebooks where !documents.contains(notebook) { documents.append(notebook) }
        for document in documents {
            do {
                let notebook: [String: JSONValue]?
                if let workspace = place.workspace {
                    notebook = try await fetch(workspace, document)
                } else if final, let directory = place.directory {
                    notebook = try Self.readFile(directory: directory, document: document)
                } else {
                    notebook = nil
                }
                guard let notebook else { continue }
                var payload = Self.payload(document: document, notebook: notebook)
                guard hashes[session]?[document] != payload.hash else { continue }
                if let before = lastCells[session]?[document] {
                    payload.changed = Self.changedCells(from: before, to: payload.cells)
                    payload.editors = editors[session]?[document]
                }
                _ = try await events.append(EventDraft(time: clock.now, type: .workspaceSnapshot, actor: "system", session: session, payload: payload))
                hashes[session, default: [:]][document] = payload.hash
                lastCells[session, default: [:]][document] = payload.cells
                editors[session]?[document] = nil
            } catch {
                logger.debug("notebook not snapshotted", metadata: ["session": "\(session)", "document": "\(document)", "error": "\(error)"])
            }
        }
    }

    // MARK: Reading notebooks

    /// A document name as edits give it, as a path in the workspace: a collaboration room's
    /// `json:notebook:` prefix and a leading `/` dropped.
    static func path(_ document: String) -> String {
        var path = Substring(document)
        let parts = document.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        if parts.count == 3, ["json", "text"].contains(parts[0]) { path = parts[2] }
        while path.hasPrefix("/") { path = path.dropFirst() }
        return String(path)
    }

    /// GET `api/contents/<path>?content=1` on the workspace, with its token.
    public static let fetchOverHTTP: Fetch = { workspace, document in
        let encoded = document.split(separator: "/").map { $0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? "" }
        var request = HTTPClientRequest(url: workspace.url + "api/contents/" + encoded.joined(separator: "/") + "?content=1&type=notebook")
        request.headers.add(name: "Authorization", value: "token \(workspace.token)")
        // Over a unix socket there is no host to name, and JupyterLab refuses requests without one.
        if workspace.socketPath != nil { request.headers.add(name: "Host", value: "localhost") }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 32 << 20)
        guard response.status == .ok else { return nil }
        let model = try JSONValue.parseObject(String(buffer: body))
        return model["content"]?.objectValue
    }

    static func readFile(directory: String, document: String) throws -> [String: JSONValue]? {
        let root = URL(fileURLWithPath: directory).standardizedFileURL.path
        let file = URL(fileURLWithPath: root + "/" + document).standardizedFileURL.path
        guard file.hasPrefix(root + "/"), let data = FileManager.default.contents(atPath: file) else { return nil }
        return try JSONValue.parseObject(String(decoding: data, as: UTF8.self))
    }

    /// Most characters of a cell's output kept: the head and the tail.
    static let outputLimit = 2000

    /// A notebook (nbformat JSON) as a snapshot: each cell's id, type, source, execution count and
    /// the text of its outputs; the hash is SHA-256 of the cells as recorded.
    public static func payload(document: String, notebook: [String: JSONValue]) -> SnapshotPayload {
        let cells = (notebook["cells"]?.arrayValue ?? []).compactMap { value -> SnapshotPayload.Cell? in
            guard let cell = value.objectValue else { return nil }
            var count: Int?
            if case .number(let number)? = cell["execution_count"] { count = Int(number) }
            let outputs = (cell["outputs"]?.arrayValue ?? []).compactMap { output -> String? in
                guard let output = output.objectValue else { return nil }
                switch output["output_type"]?.stringValue {
                case "stream": return text(output["text"])
                case "execute_result", "display_data": return output["data"]?.objectValue.flatMap { text($0["text/plain"]) }
                case "error":
                    return (output["ename"]?.stringValue ?? "Error") + ": " + (output["evalue"]?.stringValue ?? "")
                default: return nil
                }
            }
            var output: String? = outputs.isEmpty ? nil : outputs.map { $0.hasSuffix("\n") ? $0 : $0 + "\n" }.joined()
            if let long = output, long.count > outputLimit {
                output = String(long.prefix(outputLimit / 2)) + "\n…\n" + String(long.suffix(outputLimit / 2))
            }
            return SnapshotPayload.Cell(
                id: cell["id"]?.stringValue, type: cell["cell_type"]?.stringValue ?? "code", source: text(cell["source"]) ?? "", executionCount: count,
                output: output)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let canonical = (try? encoder.encode(cells)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return SnapshotPayload(document: document, cells: cells, hash: SecretToken.hash(canonical))
    }

    /// The ids of the cells in `after` that are new or whose type, source or output differ from
    /// the cell of the same id in `before`.
    public static func changedCells(from before: [SnapshotPayload.Cell], to after: [SnapshotPayload.Cell]) -> [String] {
        var previous: [String: SnapshotPayload.Cell] = [:]
        for cell in before { if let id = cell.id { previous[id] = cell } }
        return after.compactMap { cell in
            guard let id = cell.id else { return nil }
            return previous[id] == cell ? nil : id
        }
    }

    /// nbformat's multiline text: a string, or a list of lines.
    static func text(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let text)?: text
        case .array(let lines)?: lines.compactMap(\.stringValue).joined()
        default: nil
        }
    }
}

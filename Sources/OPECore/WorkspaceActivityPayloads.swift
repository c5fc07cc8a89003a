// Payloads of the attributed activity in a session's workspace: what each member did in the shared
// JupyterLab, as the workspace proxy saw it in the traffic it relays (actor: the member), and the
// periodic notebook snapshots the replay rebuilds documents from (actor: `system`).
//
// Every member event carries `role`, the member's team role at that moment, so a researcher need
// not join the record with `role.changed` events to know who drove.

/// `workspace.executed`: a member ran a cell (or any code) in a kernel; recorded when the kernel
/// answers, or when the proxy refused it.
public struct ExecutedPayload: EventPayload {
    public static let eventTypes: [EventType] = [.workspaceExecuted]
    /// The notebook (path in the workspace), when the front end said which.
    public var document: String?
    /// The cell's id (nbformat 4.5 cell id), when the front end said which.
    public var cell: String?
    public var code: String
    /// `ok`, `error`, `aborted` (the kernel skipped it after an earlier error) or `refused` (the
    /// member may not run code now; nothing reached the kernel).
    public var outcome: String
    /// The exception's class name (`NameError`), for `error`.
    public var errorName: String?
    /// The exception's message, or why it was refused.
    public var errorValue: String?
    /// What the run printed and displayed as text (streams, `text/plain` results, the traceback's
    /// last line), at most 4,000 characters: head and tail kept.
    public var output: String?
    public var executionCount: Int?
    /// From the request to the kernel's reply.
    public var durationMs: Int?
    /// The kernel's id in the workspace.
    public var kernel: String?
    public var role: String?

    public init(
        document: String? = nil, cell: String? = nil, code: String, outcome: String, errorName: String? = nil, errorValue: String? = nil,
        output: String? = nil, executionCount: Int? = nil, durationMs: Int? = nil, kernel: String? = nil, role: String? = nil
    ) {
        self.document = document
        self.cell = cell
        self.code = code
        self.outcome = outcome
        self.errorName = errorName
        self.errorValue = errorValue
        self.output = output
        self.executionCount = executionCount
        self.durationMs = durationMs
        self.kernel = kernel
        self.role = role
    }
}

/// `workspace.kernel`: a member started, restarted, interrupted or shut down a kernel.
public struct KernelActionPayload: EventPayload {
    public static let eventTypes: [EventType] = [.workspaceKernel]
    /// `started`, `restarted`, `interrupted` or `shutdown`.
    public var action: String
    public var kernel: String?
    /// The kernel spec's name (`python3`).
    public var kernelName: String?
    public var role: String?

    public init(action: String, kernel: String? = nil, kernelName: String? = nil, role: String? = nil) {
        self.action = action
        self.kernel = kernel
        self.kernelName = kernelName
        self.role = role
    }
}

/// `workspace.file`: a member created, renamed, deleted or uploaded a file or folder.
public struct FileActionPayload: EventPayload {
    public static let eventTypes: [EventType] = [.workspaceFile]
    /// `created`, `renamed`, `deleted`, `uploaded` or `saved` (a whole-file save through the
    /// contents API, as opposed to collaborative edits).
    public var action: String
    public var path: String
    /// The new path, for `renamed`.
    public var newPath: String?
    public var role: String?

    public init(action: String, path: String, newPath: String? = nil, role: String? = nil) {
        self.action = action
        self.path = path
        self.newPath = newPath
        self.role = role
    }
}

/// `workspace.terminal`: a member opened a terminal or typed into one (input coalesced per member
/// and terminal over a few seconds; the keystrokes themselves are not recorded).
public struct TerminalPayload: EventPayload {
    public static let eventTypes: [EventType] = [.workspaceTerminal]
    /// `opened` or `input`.
    public var action: String
    /// The terminal's name in the workspace (`1`).
    public var terminal: String
    /// For `input`: how many input messages, and their size in bytes.
    public var inputs: Int?
    public var bytes: Int?
    public var role: String?

    public init(action: String, terminal: String, inputs: Int? = nil, bytes: Int? = nil, role: String? = nil) {
        self.action = action
        self.terminal = terminal
        self.inputs = inputs
        self.bytes = bytes
        self.role = role
    }
}

/// `workspace.refused`: the proxy kept a member's edit, terminal input, file or kernel action from
/// the shared workspace because roles are enforced and they were not driving (frames: one event per
/// socket and minute at most, with the count). A refused run is a `workspace.executed` event with
/// outcome `refused`.
public struct RefusedPayload: EventPayload {
    public static let eventTypes: [EventType] = [.workspaceRefused]
    /// `edit`, `terminal`, `file` or `kernel`.
    public var what: String
    /// What the member was told.
    public var reason: String
    public var document: String?
    /// How many were refused since the previous such event.
    public var count: Int
    public var role: String?

    public init(what: String, reason: String, document: String? = nil, count: Int = 1, role: String? = nil) {
        self.what = what
        self.reason = reason
        self.document = document
        self.count = count
        self.role = role
    }
}

/// `workspace.snapshot`: a notebook's content at a moment (actor `system`), written when it changed
/// since its last snapshot, at most every few seconds while a team edits; the replay starts from
/// the last snapshot before the moment shown.
public struct SnapshotPayload: EventPayload {
    public static let eventTypes: [EventType] = [.workspaceSnapshot]

    /// One cell as nbformat has it; outputs as text only.
    public struct Cell: Codable, Sendable, Hashable {
        public var id: String?
        /// `code`, `markdown` or `raw`.
        public var type: String
        public var source: String
        public var executionCount: Int?
        /// The text of its outputs (streams, `text/plain`, errors' last line), at most 2,000 characters.
        public var output: String?

        public init(id: String?, type: String, source: String, executionCount: Int? = nil, output: String? = nil) {
            self.id = id
            self.type = type
            self.source = source
            self.executionCount = executionCount
            self.output = output
        }
    }

    /// The notebook's path in the workspace.
    public var document: String
    public var cells: [Cell]
    /// SHA-256 of the cells as recorded, hex: an unchanged notebook is not recorded again.
    public var hash: String
    /// The ids of the cells that are new or changed since the notebook's previous snapshot (absent
    /// on the first): which cells the edits in between touched.
    public var changed: [String]?
    /// Who edited the notebook since its previous snapshot (`workspace.edited` events): with one
    /// editor, as under enforced roles, the changed cells are theirs.
    public var editors: [String]?

    public init(document: String, cells: [Cell], hash: String, changed: [String]? = nil, editors: [String]? = nil) {
        self.document = document
        self.cells = cells
        self.hash = hash
        self.changed = changed
        self.editors = editors
    }
}

// Payloads of the events of a session's workspace (written by the workspace service, actor `system`).

/// `workspace.started`: the workspace answers at `path`.
public struct WorkspaceStartedPayload: EventPayload {
    public static let eventTypes: [EventType] = [.workspaceStarted]
    /// Where the team's page loads it, e.g. `/w/<session>/`.
    public var path: String
    public var startMs: Double
    /// Which try it took (from 1).
    public var attempt: Int
    /// Whether it came back after a crash or an instructor's restart.
    public var restart: Bool

    public init(path: String, startMs: Double, attempt: Int, restart: Bool) {
        self.path = path
        self.startMs = startMs
        self.attempt = attempt
        self.restart = restart
    }
}

/// `workspace.stopped`: why (`ended` with the session, `idle`).
public struct WorkspaceStoppedPayload: EventPayload {
    public static let eventTypes: [EventType] = [.workspaceStopped]
    public var reason: String
    /// The idle time that stopped it.
    public var idleSeconds: Int?

    public init(reason: String, idleSeconds: Int? = nil) {
        self.reason = reason
        self.idleSeconds = idleSeconds
    }
}

/// `workspace.crashed`: the workspace's server exited on its own.
public struct WorkspaceCrashedPayload: EventPayload {
    public static let eventTypes: [EventType] = [.workspaceCrashed]
    public var status: Int32
    /// The end of its log.
    public var log: String
    /// Whether it is being started again (not after too many crashes).
    public var restarting: Bool

    public init(status: Int32, log: String, restarting: Bool) {
        self.status = status
        self.log = log
        self.restarting = restarting
    }
}

/// `workspace.failed`: the workspace could not be started, or crashed too often.
public struct WorkspaceFailedPayload: EventPayload {
    public static let eventTypes: [EventType] = [.workspaceFailed]
    public var error: String
    /// How many starts were tried.
    public var attempts: Int?

    public init(error: String, attempts: Int? = nil) {
        self.error = error
        self.attempts = attempts
    }
}

/// `workspace.limit`: the workspace hit a limit (`memory`, `processes`, `disk`).
public struct WorkspaceLimitPayload: EventPayload {
    public static let eventTypes: [EventType] = [.workspaceLimit]
    public var limit: String
    /// What happened, in words for the team.
    public var message: String

    public init(limit: String, message: String) {
        self.limit = limit
        self.message = message
    }
}

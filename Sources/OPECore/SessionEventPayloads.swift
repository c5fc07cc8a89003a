// Payloads of the events of a team's session: forming, phases, members, roles, chat, tests.

/// `session.formed`: who the team is and how its roles go.
public struct SessionFormedPayload: EventPayload {
    public static let eventTypes: [EventType] = [.sessionFormed]
    public var module: String
    public var members: [String]
    /// Each member's role at the start.
    public var roles: [String: String]?
    /// The module's roles in seat order (the rotation's order).
    public var roleOrder: [String]?
    /// The role someone who joins later gets.
    public var lateJoinRole: String?
    /// How often roles rotate, when they do.
    public var rotationSeconds: Int?
    /// The fixed group the session is for, in a module in static mode.
    public var group: String?
    /// The experiment condition, in a module with an experiment.
    public var condition: String?

    public init(
        module: String, members: [String], roles: [String: String]?, roleOrder: [String]?, lateJoinRole: String?, rotationSeconds: Int? = nil,
        group: String? = nil, condition: String? = nil
    ) {
        self.module = module
        self.members = members
        self.roles = roles
        self.roleOrder = roleOrder
        self.lateJoinRole = lateJoinRole
        self.rotationSeconds = rotationSeconds
        self.group = group
        self.condition = condition
    }
}

/// `experiment.assigned`: the condition a new session got.
public struct ExperimentAssignedPayload: EventPayload {
    public static let eventTypes: [EventType] = [.experimentAssigned]
    public var module: String
    public var condition: String
    /// The session's place in the module's sequence of sessions (from 0).
    public var index: Int
    /// The experiment's seed as a JSON number: seeds past 2^53 come out rounded, as they always have.
    public var seed: Double

    public init(module: String, condition: String, index: Int, seed: UInt64) {
        self.module = module
        self.condition = condition
        self.index = index
        self.seed = Double(seed)
    }
}

/// `session.phase_changed`: the new phase.
public struct PhaseChangedPayload: EventPayload {
    public static let eventTypes: [EventType] = [.sessionPhaseChanged]
    public var phase: SessionStateMachine.Phase

    public init(phase: SessionStateMachine.Phase) { self.phase = phase }
}

/// `role.changed`: every member's role after the change.
public struct RolesPayload: EventPayload {
    public static let eventTypes: [EventType] = [.roleChanged]
    public var roles: [String: String]
    /// Why: `start`, `rotate`, `late_join`, `member_left`, or a plan's own reason.
    public var reason: String?
    /// How many rotations the session has had.
    public var rotation: Int?

    public init(roles: [String: String], reason: String?, rotation: Int?) {
        self.roles = roles
        self.reason = reason
        self.rotation = rotation
    }
}

/// `session.member_joined`: someone joined a running session.
public struct MemberJoinedPayload: EventPayload {
    public static let eventTypes: [EventType] = [.sessionMemberJoined]
    public var user: String
    public var role: String?

    public init(user: String, role: String?) {
        self.user = user
        self.role = role
    }
}

/// `session.member_left`: someone left for good.
public struct MemberLeftPayload: EventPayload {
    public static let eventTypes: [EventType] = [.sessionMemberLeft]
    public var user: String
    /// Who is still in the team.
    public var remaining: [String]?

    public init(user: String, remaining: [String]?) {
        self.user = user
        self.remaining = remaining
    }
}

/// `chat.message` (the actor wrote it).
public struct ChatPayload: EventPayload {
    public static let eventTypes: [EventType] = [.chatMessage]
    public var text: String
    /// The sending page's own id for the message, echoed in the acknowledgement.
    public var clientId: String?

    public init(text: String, clientId: String?) {
        self.text = text
        self.clientId = clientId
    }
}

/// `instructor.hint` (the actor is the instructor).
public struct HintPayload: EventPayload {
    public static let eventTypes: [EventType] = [.instructorHint]
    public var text: String

    public init(text: String) { self.text = text }
}

/// `test.result`: one run of a task's tests (the actor started it).
public struct TestResultPayload: EventPayload {
    public static let eventTypes: [EventType] = [.testResult]
    public var task: String
    public var passed: Bool
    public var timedOut: Bool?
    public var exitStatus: Int32?
    public var durationMs: Int?
    /// The output, or its head and tail when it is long.
    public var output: String?
    /// Each test's outcome, when the command was pytest.
    public var cases: [TestReport.Case]?

    public init(
        task: String, passed: Bool, timedOut: Bool? = nil, exitStatus: Int32? = nil, durationMs: Int? = nil, output: String? = nil,
        cases: [TestReport.Case]? = nil
    ) {
        self.task = task
        self.passed = passed
        self.timedOut = timedOut
        self.exitStatus = exitStatus
        self.durationMs = durationMs
        self.output = output
        self.cases = cases
    }
}

/// `workspace.edited`: how many document updates a member made since their previous such event
/// for the same document.
public struct EditedPayload: EventPayload {
    public static let eventTypes: [EventType] = [.workspaceEdited]
    public var updates: Int
    /// The document's path in the workspace (absent in logs written before OPE attributed edits).
    public var document: String?
    /// The size of those updates in bytes (Yjs-encoded): a rough measure of how much changed.
    public var bytes: Int?
    /// The member's team role at the time.
    public var role: String?

    public init(updates: Int, document: String? = nil, bytes: Int? = nil, role: String? = nil) {
        self.updates = updates
        self.document = document
        self.bytes = bytes
        self.role = role
    }
}

import OPECore

/// One task-test run as the platform asks for it: what `RunTestsRequest` carries.
public struct GradingRequest: Sendable, Hashable {
    /// The session whose files are tested (the run's `OPE_SESSION`); one run per session at a time.
    public var session: String
    /// The task's id in the module (the run's `OPE_TASK`).
    public var task: String
    /// The task's test command, shell text for `/bin/sh -c`.
    public var command: String
    /// The task's time limit: more than 0 and at most ``GradingRequest/maxTimeout``, whole seconds on the wire.
    public var timeout: Duration
    /// The hidden test files to lay over the team's files, relative to the tests folder (module.yaml's `test.files`).
    public var testFiles: [String]
    /// Extra variables for the run (the kit's settings).
    public var environment: [String: String]

    /// The longest time limit a run may ask for.
    public static let maxTimeout: Duration = .seconds(3600)

    public init(
        session: String, task: String, command: String, timeout: Duration, testFiles: [String] = [], environment: [String: String] = [:]
    ) {
        self.session = session
        self.task = task
        self.command = command
        self.timeout = timeout
        self.testFiles = testFiles
        self.environment = environment
    }

    /// The run of `task`'s tests as the module declares them, or nil if the task has none.
    public init?(session: String, task: ModuleTask, environment: [String: String] = [:]) {
        guard let test = task.test else { return nil }
        self.init(session: session, task: task.id, command: test.command, timeout: test.timeout, testFiles: test.files, environment: environment)
    }

    /// ``timeout`` in whole seconds, rounded up (what the wire carries).
    public var timeoutSeconds: Int {
        let (seconds, attoseconds) = timeout.components
        return Int(seconds) + (attoseconds > 0 ? 1 : 0)
    }
}

/// What a run found: what `RunTestsResponse` carries, in OPECore's terms.
public struct GradingResult: Sendable, Hashable {
    /// The command exited with status 0 within its time limit.
    public var passed: Bool
    /// The run was stopped at its time limit.
    public var timedOut: Bool
    /// The command's exit status (-1 when it was killed and none was reported).
    public var exitStatus: Int32
    /// How long the run took, copying included.
    public var durationMs: Int
    /// The output, or its head and tail with a line saying how much was left out between them.
    public var output: String
    /// Each test's outcome (pytest runs; empty for other commands).
    public var cases: [TestReport.Case]

    public init(passed: Bool, timedOut: Bool, exitStatus: Int32, durationMs: Int, output: String, cases: [TestReport.Case]) {
        self.passed = passed
        self.timedOut = timedOut
        self.exitStatus = exitStatus
        self.durationMs = durationMs
        self.output = output
        self.cases = cases
    }
}

/// Why a run did not happen (or its answer did not arrive), on both sides of the wire: the server
/// answers each kind with its own gRPC status and the client turns the status back into the kind.
public struct GradingError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// A field of the request is wrong; the message names it (INVALID_ARGUMENT).
        case invalidArgument
        /// No or a wrong bearer token (UNAUTHENTICATED).
        case unauthenticated
        /// The session already has a run going (FAILED_PRECONDITION).
        case sessionBusy
        /// The service runs as many tests at once as it may (RESOURCE_EXHAUSTED).
        case atCapacity
        /// The service cannot be reached, or is not ready (UNAVAILABLE).
        case unavailable
        /// No answer before the call's deadline (DEADLINE_EXCEEDED).
        case deadlineExceeded
        /// Anything else: the run could not be carried out.
        case failed
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    static func invalid(_ field: String, _ problem: String) -> Self { Self(.invalidArgument, "\(field): \(problem)") }
}

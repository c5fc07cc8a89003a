import Foundation
import Logging
import OPECore
import OPEGrading
import OPEStore
import OPEWorkspaces

/// Runs a task's tests against a group's files, outside the server process and with a time limit,
/// and records the result as a `test.result` event the room shows.
///
/// The group's folder is copied to a scratch folder and the module's hidden test files are laid
/// over it, so tests never change the group's files and students never see the test files. The
/// run has a sandbox of its own (see ``Sandbox``): another account than the team's workspace, the
/// copy read-only as its home, the module's limits, no network — so neither the team's running
/// code nor the tests' own can reach the hidden files, the server or anything left behind.
public actor TaskTestService {
    public struct Outcome: Sendable, Codable {
        public var task: String
        public var passed: Bool
        public var timedOut: Bool
        public var exitStatus: Int32
        public var durationMs: Int
        /// The output: all of it, or its start (the first failures) and end (the summary).
        public var output: String
        /// Each test's outcome (pytest runs; empty for other commands).
        public var cases: [TestReport.Case]
        public var eventId: Int64
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case unknownTask(String)
        case noTests(String)
        case alreadyRunning
        case noFiles
        /// The grading service of the session's workspace could not run them (Kubernetes).
        case unavailable(String)

        public var description: String {
            switch self {
            case .unknownTask(let task): "the module has no task '\(task)'"
            case .noTests(let task): "task '\(task)' has no tests"
            case .alreadyRunning: "the tests of this session are already running; wait for the result"
            case .noFiles: "the group's files are not there yet; wait for the workspace to start"
            case .unavailable(let reason): "the tests could not be run next to the team's files: \(reason)"
            }
        }
    }

    /// Runs a task's tests somewhere else than here: on Kubernetes, in the grading container of
    /// the session's workspace pod, which alone holds the hidden tests (see docs/grading.md).
    public typealias Remote = @Sendable (_ request: GradingRequest) async throws -> GradingResult

    let events: EventLog
    /// Folder holding the project's virtualenv (`bin/python`), put first on PATH.
    let venv: String?
    /// Where the runs happen: a sandbox here, or the remote grading service.
    let sandbox: Sandbox?
    let remote: Remote?
    /// The server's changes to the kits' limits.
    let limits: WorkspaceLimits.Changes
    /// Kit settings a test run gets over the workspace's (the sql kit's database of its own).
    let kitEnvironment: @Sendable (Module, String) async throws -> [String: String]
    /// The time results are recorded at, the platform's like every other event's.
    let clock: any PlatformClock
    let logger: Logger
    /// Test runs at once across all sessions: they are CPU-heavy and the machine is shared.
    let maxConcurrent: Int
    private var running: Set<String> = []
    private var active = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init(
        events: EventLog, venv: String?, sandbox: Sandbox, limits: WorkspaceLimits.Changes = .init(), maxConcurrent: Int = 2,
        kitEnvironment: @escaping @Sendable (Module, String) async throws -> [String: String] = { _, _ in [:] },
        logger: Logger = Logger(label: "ope.tests"), clock: any PlatformClock = SystemClock()
    ) {
        self.kitEnvironment = kitEnvironment
        self.clock = clock
        self.events = events
        self.venv = venv
        self.sandbox = sandbox
        self.remote = nil
        self.limits = limits
        self.maxConcurrent = maxConcurrent
        self.logger = logger
    }

    /// Tests run by a grading service next to the team's files (Kubernetes).
    public init(
        events: EventLog, remote: @escaping Remote, maxConcurrent: Int = 64, logger: Logger = Logger(label: "ope.tests"),
        clock: any PlatformClock = SystemClock()
    ) {
        self.events = events
        self.remote = remote
        self.venv = nil
        self.sandbox = nil
        self.limits = .init()
        self.maxConcurrent = maxConcurrent
        self.kitEnvironment = { _, _ in [:] }
        self.logger = logger
        self.clock = clock
    }

    /// Runs `taskID`'s tests on the files in `directory` for `session`.
    public func run(
        task taskID: String, module: Module, session: String, directory: String, environment: [String: String], by user: String
    ) async throws -> Outcome {
        guard let task = module.tasks.first(where: { $0.id == taskID }) else { throw Failure.unknownTask(taskID) }
        guard let test = task.test else { throw Failure.noTests(taskID) }
        guard remote != nil || FileManager.default.fileExists(atPath: directory) else { throw Failure.noFiles }
        guard running.insert(session).inserted else { throw Failure.alreadyRunning }
        defer { running.remove(session) }
        await acquire()
        defer { release() }
        if let remote, let request = GradingRequest(session: session, task: task, environment: environment) {
            let began = ContinuousClock.now
            let result: GradingResult
            do {
                result = try await remote(request)
            } catch {
                throw Failure.unavailable("\(error)")
            }
            let durationMs = result.durationMs > 0 ? result.durationMs : Int((ContinuousClock.now - began).milliseconds)
            return try await record(
                task: taskID, session: session, by: user, passed: result.passed, timedOut: result.timedOut, exitStatus: result.exitStatus,
                durationMs: durationMs, output: result.output, cases: result.cases)
        }
        guard let sandbox else { throw Failure.noFiles }

        let scratch = NSTemporaryDirectory() + "ope-tests-\(session)-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try Self.copyGroupFiles(from: directory, to: scratch)
        for file in test.files {
            let target = scratch + "/" + file
            try? FileManager.default.removeItem(atPath: target)
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: module.folder + "/" + file, toPath: target)
        }
        Self.makeReadable(scratch)
        var env = KitDefaults.environment(for: module.kit).merging(environment) { _, given in given }
        env.merge(try await kitEnvironment(module, session)) { _, own in own }
        env["OPE_SESSION"] = session
        env["OPE_TASK"] = taskID
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        // The copy is read-only: pytest's cache would only warn about it. The short summary lists
        // every test's outcome, which the page shows; wide lines keep its messages whole.
        env["PYTEST_ADDOPTS"] = "-p no:cacheprovider " + TestReport.pytestOptions
        env["COLUMNS"] = "200"
        let began = ContinuousClock.now
        let result = try await sandbox.run(
            test.command, home: scratch, homeWritable: false, environment: env, venv: venv, limits: module.workspaceLimits(server: limits),
            timeout: test.timeout
        )
        let elapsed = ContinuousClock.now - began
        var output = result.output
        if result.timedOut {
            output += TestReport.timedOutNote(seconds: DurationText.seconds(test.timeout))
        }
        let report = TestReport(pytestOutput: output)
        return try await record(
            task: taskID, session: session, by: user, passed: result.succeeded, timedOut: result.timedOut, exitStatus: result.status,
            durationMs: Int(elapsed.milliseconds), output: TestReport.excerpt(output), cases: report.cases)
    }

    /// Records a run's result as a `test.result` event (what the room shows) and returns it.
    private func record(
        task taskID: String, session: String, by user: String, passed: Bool, timedOut: Bool, exitStatus: Int32, durationMs: Int, output excerpt: String,
        cases: [TestReport.Case]
    ) async throws -> Outcome {
        let event = try await events.append(
            EventDraft(
                time: clock.now, type: .testResult, actor: user, session: session,
                payload: TestResultPayload(
                    task: taskID, passed: passed, timedOut: timedOut, exitStatus: exitStatus, durationMs: durationMs, output: excerpt, cases: cases
                )
            )
        )
        logger.info("tests ran", metadata: ["session": "\(session)", "task": "\(taskID)", "passed": "\(passed)", "ms": "\(durationMs)"])
        return Outcome(
            task: taskID, passed: passed, timedOut: timedOut, exitStatus: exitStatus, durationMs: durationMs, output: excerpt, cases: cases, eventId: event.id
        )
    }

    /// Lets the run's own account read the copy (a team may have made its files private). Links
    /// are left alone: a team's link may point anywhere on the host, and chmod would follow it.

    static func makeReadable(_ folder: String) {
        chmod(folder, 0o755)
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return }
        for case let path as String in walker {
            // The attributes of the entry itself, not of what a link points to.
            switch (try? FileManager.default.attributesOfItem(atPath: folder + "/" + path))?[.type] as? FileAttributeType {
            case .typeDirectory?: chmod(folder + "/" + path, 0o755)
            case .typeRegular?: chmod(folder + "/" + path, 0o644)
            default: continue
            }
        }
    }

    /// Copies the group's files, leaving out Jupyter's checkpoints and hidden folders.
    static func copyGroupFiles(from source: String, to target: String) throws {
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: target, withIntermediateDirectories: true)
        let root = URL(fileURLWithPath: source).resolvingSymlinksInPath().path
        for name in try fileManager.contentsOfDirectory(atPath: root) where !name.hasPrefix(".") {
            try fileManager.copyItem(atPath: root + "/" + name, toPath: target + "/" + name)
        }
    }

    private func acquire() async {
        if active < maxConcurrent {
            active += 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty { active -= 1 } else { waiters.removeFirst().resume() }
    }
}

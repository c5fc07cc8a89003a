import Foundation
import Logging
import OPECore

/// Runs a task's tests next to a team's files: what the grading container of a workspace pod does
/// for each `RunTests` call, and what the local mode's `TaskTestService` does in its sandbox.
///
/// The team's folder (read-only in the pod) is copied to a scratch folder, the module's hidden test
/// files are laid over the copy, and the task's command runs there with `/bin/sh -c`, its
/// environment and a time limit; past the limit its whole process group is killed. The team's
/// folder is never written. pytest's short summary gives each test's outcome.
///
/// The command gets a small environment of its own (``Configuration/baseEnvironment``, the
/// request's variables and OPE's), never the server's: the grading token stays out of the tests'
/// reach that way.
public actor GradingRunner {
    public struct Configuration: Sendable {
        /// The team's files (the workspace's volume, mounted read-only).
        public var filesFolder: String
        /// The module's hidden tests; a request's `test_files` are relative to it.
        public var testsFolder: String
        /// Where scratch copies are made (and removed after each run).
        public var scratchFolder: String
        /// Runs at once; one more is refused with ``GradingError/Kind/atCapacity``.
        public var maxConcurrent: Int
        /// The variables every run starts from (by default the server's PATH, LANG, LC_ALL and TZ).
        public var baseEnvironment: [String: String]

        public init(
            filesFolder: String, testsFolder: String, scratchFolder: String = NSTemporaryDirectory(), maxConcurrent: Int = 2,
            baseEnvironment: [String: String] = GradingRunner.inheritedEnvironment()
        ) {
            self.filesFolder = filesFolder
            self.testsFolder = testsFolder
            self.scratchFolder = scratchFolder
            self.maxConcurrent = max(1, maxConcurrent)
            self.baseEnvironment = baseEnvironment
        }
    }

    public let configuration: Configuration
    let logger: Logger
    private var running: Set<String> = []

    public init(configuration: Configuration, logger: Logger = Logger(label: "ope.grading")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The server's own variables a run keeps: where programs are and how text is written.
    public static func inheritedEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        var kept = environment.filter { ["PATH", "LANG", "LC_ALL", "TZ"].contains($0.key) }
        if kept["PATH"] == nil { kept["PATH"] = "/usr/local/bin:/usr/bin:/bin" }
        return kept
    }

    /// The sessions with a run going.
    public var activeSessions: Set<String> { running }

    /// Whether runs can happen: both folders are there. Nil when ready, else why not.
    public nonisolated func unreadiness() -> String? {
        for (name, folder) in [("files", configuration.filesFolder), ("tests", configuration.testsFolder)] {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                return "the \(name) folder \(folder) is not there"
            }
        }
        return nil
    }

    /// Checks a request's fields before anything runs; the error names the wrong field.
    public nonisolated func validate(_ request: GradingRequest) throws(GradingError) {
        try Self.checkText(request.session, field: "session")
        try Self.checkText(request.task, field: "task")
        if request.command.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw .invalid("command", "must not be empty")
        }
        if request.command.contains("\0") { throw .invalid("command", "must not hold a NUL character") }
        guard request.timeout > .zero, request.timeout <= GradingRequest.maxTimeout else {
            throw .invalid("timeout_seconds", "must be more than 0 and at most \(GradingRequest.maxTimeout.components.seconds) (got \(request.timeoutSeconds))")
        }
        for file in request.testFiles { _ = try testFile(file) }
        for (name, value) in request.environment {
            guard !name.isEmpty, !name.contains("="), !name.contains("\0") else {
                throw .invalid("environment", "'\(name)' is not a variable name")
            }
            if value.contains("\0") { throw .invalid("environment", "the value of \(name) holds a NUL character") }
        }
    }

    /// Runs the request's tests and answers when they have finished or were stopped.
    ///
    /// Refused at once (nothing is copied) when the request is invalid, when its session has a run
    /// going, or when ``Configuration/maxConcurrent`` runs are going. Cancelling the calling task
    /// (the call's deadline, a client that went away) kills the command's process group.
    public func run(_ request: GradingRequest) async throws(GradingError) -> GradingResult {
        try validate(request)
        if let reason = unreadiness() { throw GradingError(.unavailable, "not ready: \(reason)") }
        guard !running.contains(request.session) else {
            throw GradingError(.sessionBusy, "the tests of session \(request.session) are already running; wait for that result before asking again")
        }
        guard running.count < configuration.maxConcurrent else {
            throw GradingError(
                .atCapacity, "\(running.count) test runs are going on, as many as this service runs at once; try again when one has finished")
        }
        running.insert(request.session)
        defer { running.remove(request.session) }

        let began = ContinuousClock.now
        let scratch = (configuration.scratchFolder as NSString).appendingPathComponent("ope-grading-\(UUID().uuidString.lowercased())")
        defer { Self.remove(scratch) }
        let result: CommandRunner.Result
        do {
            try Self.copyTeamFiles(from: configuration.filesFolder, to: scratch)
            for file in request.testFiles {
                let source = try testFile(file)
                let target = scratch + "/" + file
                try? FileManager.default.removeItem(atPath: target)
                try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: source, toPath: target)
            }
            Self.makeWritable(scratch)
            result = try await CommandRunner().run(
                ["/bin/sh", "-c", request.command], in: scratch, environment: environment(for: request, home: scratch), inheritEnvironment: false,
                timeout: request.timeout
            )
        } catch let error as GradingError {
            throw error
        } catch {
            logger.error("a test run failed", metadata: ["session": "\(request.session)", "task": "\(request.task)", "error": "\(error)"])
            throw GradingError(.failed, "the tests could not be run: \(error)")
        }
        let elapsed = ContinuousClock.now - began
        var output = result.output
        if result.timedOut {
            output += TestReport.timedOutNote(seconds: request.timeoutSeconds)
        }
        let durationMs = Int(elapsed.components.seconds) * 1000 + Int(elapsed.components.attoseconds / 1_000_000_000_000_000)
        logger.info(
            "tests ran",
            metadata: ["session": "\(request.session)", "task": "\(request.task)", "passed": "\(result.succeeded)", "ms": "\(durationMs)"])
        return GradingResult(
            passed: result.succeeded, timedOut: result.timedOut, exitStatus: result.status, durationMs: durationMs, output: TestReport.excerpt(output),
            cases: TestReport(pytestOutput: output).cases
        )
    }

    /// The run's variables: the base ones, the request's over them, OPE's over both.
    nonisolated func environment(for request: GradingRequest, home: String) -> [String: String] {
        var environment = configuration.baseEnvironment
        environment["HOME"] = home
        environment.merge(request.environment) { _, given in given }
        environment["OPE_SESSION"] = request.session
        environment["OPE_TASK"] = request.task
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        // No cache folder in the copy; the short summary lists every test's outcome, which the
        // page shows; wide lines keep its messages whole.
        environment["PYTEST_ADDOPTS"] = "-p no:cacheprovider " + TestReport.pytestOptions
        environment["COLUMNS"] = "200"
        return environment
    }

    /// The full path of a hidden test file named in a request, if it is one: relative, inside the
    /// tests folder (links followed) and there.
    nonisolated func testFile(_ relative: String) throws(GradingError) -> String {
        guard !relative.isEmpty else { throw .invalid("test_files", "an empty path") }
        guard !relative.contains("\0") else { throw .invalid("test_files", "'\(relative)' holds a NUL character") }
        guard !relative.hasPrefix("/") else { throw .invalid("test_files", "'\(relative)' is absolute; give it relative to the tests folder") }
        let parts = relative.split(separator: "/", omittingEmptySubsequences: true)
        guard !parts.contains("..") else { throw .invalid("test_files", "'\(relative)' leaves the tests folder (..)") }
        guard parts.contains(where: { $0 != "." }) else { throw .invalid("test_files", "'\(relative)' names the tests folder itself") }
        let root = URL(fileURLWithPath: configuration.testsFolder).resolvingSymlinksInPath().path
        let path = URL(fileURLWithPath: root + "/" + relative).resolvingSymlinksInPath().path
        guard path.hasPrefix(root + "/"), FileManager.default.fileExists(atPath: path) else {
            throw .invalid("test_files", "'\(relative)' is not in the tests folder")
        }
        return path
    }

    static func checkText(_ text: String, field: String) throws(GradingError) {
        guard !text.isEmpty else { throw .invalid(field, "must not be empty") }
        guard text.count <= 200, !text.contains(where: { $0.isNewline || $0 == "\0" }) else {
            throw .invalid(field, "must be one line of at most 200 characters")
        }
    }

    /// Copies the team's files, leaving out hidden entries (Jupyter's checkpoints, dot folders) and
    /// a volume's `lost+found`.
    static func copyTeamFiles(from source: String, to target: String) throws {
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: target, withIntermediateDirectories: true)
        let root = URL(fileURLWithPath: source).resolvingSymlinksInPath().path
        for name in try fileManager.contentsOfDirectory(atPath: root) where !name.hasPrefix(".") && name != "lost+found" {
            try fileManager.copyItem(atPath: root + "/" + name, toPath: target + "/" + name)
        }
    }

    /// The copy keeps the modes of a read-only volume's files; the run may write in its copy (and
    /// the copy must go afterwards). Links are left alone: chmod would follow them.
    static func makeWritable(_ folder: String) {
        chmod(folder, 0o755)
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return }
        for case let path as String in walker {
            // The attributes of the entry itself, not of what a link points to.
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: folder + "/" + path),
                let mode = (attributes[.posixPermissions] as? NSNumber)?.uint16Value
            else { continue }
            switch attributes[.type] as? FileAttributeType {
            case .typeDirectory?: chmod(folder + "/" + path, mode_t(mode | 0o700))
            case .typeRegular?: chmod(folder + "/" + path, mode_t(mode | 0o600))
            default: continue
            }
        }
    }

    /// Removes a scratch copy, whatever the run did to its modes.
    static func remove(_ folder: String) {
        makeWritable(folder)
        try? FileManager.default.removeItem(atPath: folder)
    }
}

import Foundation
import Logging
import OPECore

/// Clones and updates module repositories with the git command-line tool.
///
/// Each repository lives in `<root>/<name>` and is checked out detached at the fetched ref, so a
/// sync always shows exactly what the remote has at that ref, with no local merges.
public struct RepositorySyncService: Sendable {
    /// The outcome for one repository.
    public struct Outcome: Sendable, Codable {
        public var repository: ModuleRepository
        /// Commit now checked out, when the sync worked.
        public var commit: String?
        /// Why it failed, in words.
        public var error: String?
    }

    public let root: String
    let runner = CommandRunner()
    let timeout: Duration
    let logger: Logger

    public init(root: String, timeout: Duration = .seconds(120), logger: Logger = Logger(label: "ope.repositories")) {
        self.root = root
        self.timeout = timeout
        self.logger = logger
    }

    /// Folder holding `repository`'s modules once synced.
    public func modulesFolder(of repository: ModuleRepository) -> String {
        let checkout = root + "/" + repository.name
        return repository.path.map { checkout + "/" + $0 } ?? checkout
    }

    /// Whether `repository` was cloned before.
    public func isCloned(_ repository: ModuleRepository) -> Bool {
        FileManager.default.fileExists(atPath: root + "/" + repository.name + "/.git")
    }

    /// Fetches `repository.ref` and checks it out, cloning first if needed. `gitConfig` is passed
    /// to the fetch as `-c key=value` (e.g. an `http.extraHeader` with credentials, kept out of
    /// the URL, the checkout's config and the messages).
    public func sync(_ repository: ModuleRepository, gitConfig: [String: String] = [:]) async -> Outcome {
        let checkout = root + "/" + repository.name
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            if !isCloned(repository) {
                try? FileManager.default.removeItem(atPath: checkout)
                try await git(["init", "--quiet", checkout], in: root, repository: repository)
                try await git(["remote", "add", "origin", repository.url], in: checkout, repository: repository)
            } else {
                try await git(["remote", "set-url", "origin", repository.url], in: checkout, repository: repository)
            }
            let config = gitConfig.sorted { $0.key < $1.key }.flatMap { ["-c", "\($0.key)=\($0.value)"] }
            try await git(config + ["fetch", "--quiet", "--depth", "1", "origin", repository.ref], in: checkout, repository: repository)
            try await git(["checkout", "--quiet", "--force", "--detach", "FETCH_HEAD"], in: checkout, repository: repository)
            let head = try await git(["rev-parse", "HEAD"], in: checkout, repository: repository)
            let commit = head.trimmingCharacters(in: .whitespacesAndNewlines)
            logger.info("synced module repository", metadata: ["repository": "\(repository.name)", "commit": "\(commit)"])
            return Outcome(repository: repository, commit: commit)
        } catch {
            logger.warning("module repository sync failed", metadata: ["repository": "\(repository.name)", "error": "\(error)"])
            return Outcome(repository: repository, error: "\(error)")
        }
    }

    @discardableResult
    private func git(_ arguments: [String], in directory: String, repository: ModuleRepository) async throws -> String {
        // No prompts for credentials: a sync must fail rather than hang waiting for a terminal.
        let result = try await runner.run(
            ["git"] + arguments, in: directory, environment: ["GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/false"], timeout: timeout
        )
        guard result.succeeded else {
            let reason = result.timedOut ? "timed out after \(timeout)" : result.output.trimmingCharacters(in: .whitespacesAndNewlines)
            let step = arguments.first { !$0.hasPrefix("-") && !$0.contains("=") } ?? "command"
            throw SyncError(message: "repository '\(repository.name)' (\(repository.url) at \(repository.ref)): git \(step) failed: \(reason)")
        }
        return result.output
    }
}

/// A git step that did not work.
struct SyncError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

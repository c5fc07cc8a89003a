import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs an external program (git, pytest, the MariaDB tools) without blocking a Swift concurrency
/// thread, and ends it — its whole process group — when it outlives its time limit.
public struct CommandRunner: Sendable {
    /// What a finished program left behind.
    public struct Result: Sendable {
        public var status: Int32
        /// Standard output (and error, interleaved, unless kept apart), cut to the last 64 KiB.
        public var output: String
        /// Standard error when asked to keep it apart; empty otherwise.
        public var errorOutput: String
        public var timedOut: Bool
        public var succeeded: Bool { status == 0 && !timedOut }
        /// "timed out" or "status N", for error messages.
        public var statusText: String { timedOut ? "timed out" : "status \(status)" }
    }

    public init() {}

    /// Runs `arguments[0]` (looked up in PATH, or a path) with the rest as its arguments.
    ///
    /// - Parameters:
    ///   - environment: variables set for the program, over this process's own unless
    ///     `inheritEnvironment` is false.
    ///   - input: text for its standard input (at most 32 KiB: it is written to a file the
    ///     program reads, so no write can block or meet a closed pipe).
    ///   - separateErrorOutput: keep standard error apart in ``Result/errorOutput``.
    public func run(
        _ arguments: [String], in directory: String? = nil, environment: [String: String]? = nil, inheritEnvironment: Bool = true,
        input: String? = nil, separateErrorOutput: Bool = false, timeout: Duration
    ) async throws -> Result {
        var environment = environment ?? [:]
        if inheritEnvironment { environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
        if let input {
            guard input.utf8.count <= Self.maxInput else {
                throw CommandError("input of \(input.utf8.count) bytes is more than \(Self.maxInput) for \(arguments.first ?? "")")
            }
        }
        // Standard input from a file (so no write can block or meet a closed pipe); output read
        // as it comes, standard error interleaved or apart.
        let captured = try ChildProcess.capturing(
            "/usr/bin/env", arguments: arguments, environment: environment, directory: directory, input: input,
            errors: separateErrorOutput ? .apart : .merged)
        let child = captured.process
        let reader = captured.output
        let errorReader = captured.errors
        let (timedOut, status) = await withTaskGroup(of: Int32?.self) { group in
            group.addTask { await child.waitForExit() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            var status = await group.next() ?? nil
            let timedOut = status == nil
            // The child leads a process group of its own: signal the whole group, so `sh -c`
            // children (a hanging pytest) go too.
            let pid = child.pid
            if timedOut {
                kill(-pid, SIGTERM)
                // Give it a moment, then make sure it is gone.
                try? await Task.sleep(for: .milliseconds(500))
                kill(-pid, SIGKILL)
            }
            group.cancelAll()
            while let next = await group.next() { status = status ?? next }
            // Anything it left running in the background ends with it.
            kill(-pid, SIGKILL)
            return (timedOut, status ?? -1)
        }
        // What is still in the pipes: a grandchild that left the process group could hold a pipe
        // open for ever, so the readers stop once nothing more comes for a moment.
        let output = await reader.finish()
        let errorOutput = await errorReader?.finish() ?? Data()
        return Result(
            status: status, output: String(decoding: output, as: UTF8.self), errorOutput: String(decoding: errorOutput, as: UTF8.self),
            timedOut: timedOut)
    }

    /// Largest standard input a program is given.
    public static let maxInput = 32 * 1024
}

/// A program could not be run as asked.
public struct CommandError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

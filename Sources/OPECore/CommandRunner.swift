import Foundation

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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if !inheritEnvironment {
            process.environment = environment ?? [:]
        } else if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        var inputFile: FileHandle?
        defer { try? inputFile?.close() }
        if let input {
            let data = Data(input.utf8)
            guard data.count <= Self.maxInput else {
                throw CommandError("input of \(data.count) bytes is more than \(Self.maxInput) for \(arguments.first ?? "")")
            }
            // A file, not a Pipe: with a Pipe whose write end was closed before the start,
            // Foundation closed that end a second time (see the note on the output below).
            let file = NSTemporaryDirectory() + "ope-input-\(UUID().uuidString)"
            guard FileManager.default.createFile(atPath: file, contents: data, attributes: [.posixPermissions: 0o600]),
                let handle = FileHandle(forReadingAtPath: file)
            else { throw CommandError("cannot write the input of \(arguments.first ?? "") to \(file)") }
            try? FileManager.default.removeItem(atPath: file)  // the open handle keeps it readable
            inputFile = handle
            process.standardInput = handle
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        let pipe = Pipe()
        let errorPipe = separateErrorOutput ? Pipe() : pipe
        // Two different Pipes, or one pipe's write end given as a FileHandle to both: Foundation
        // closes a Pipe's write end in this process after the start, once for each stream it was
        // given as, and closing one descriptor twice closes whatever another thread opened under
        // that number in between (a NIO socket: EBADF, and the test process crashed).
        if separateErrorOutput {
            process.standardOutput = pipe
            process.standardError = errorPipe
        } else {
            process.standardOutput = pipe.fileHandleForWriting
            process.standardError = pipe.fileHandleForWriting
        }
        let exited = AsyncStream<Int32>.makeStream(bufferingPolicy: .bufferingNewest(1))
        process.terminationHandler = { process in
            exited.continuation.yield(process.terminationStatus)
            exited.continuation.finish()
        }
        try process.runWithSignalsUnblocked()
        // Given as a FileHandle, the shared write end is this process's to close (once).
        if !separateErrorOutput { try? pipe.fileHandleForWriting.close() }
        // Read by threads that own duplicates of the read ends; Foundation's own handles are
        // closed now (the child has its copies, and Process closed the write ends).
        let reader = try PipeReader(duplicating: pipe.fileHandleForReading.fileDescriptor)
        let errorReader = separateErrorOutput ? try PipeReader(duplicating: errorPipe.fileHandleForReading.fileDescriptor) : nil
        try? pipe.fileHandleForReading.close()
        if separateErrorOutput { try? errorPipe.fileHandleForReading.close() }
        let timedOut = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in exited.stream {}
                return false
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return !Task.isCancelled
            }
            let first = await group.next() ?? false
            // Foundation starts the child as leader of its own process group: signal the whole
            // group, so `sh -c` children (a hanging pytest) go too.
            let processGroup = -process.processIdentifier
            if first {
                kill(processGroup, SIGTERM)
                // Give it a moment, then make sure it is gone.
                try? await Task.sleep(for: .milliseconds(500))
                kill(processGroup, SIGKILL)
            }
            group.cancelAll()
            await group.waitForAll()
            // Anything it left running in the background ends with it.
            kill(processGroup, SIGKILL)
            return first
        }
        // What is still in the pipes: a grandchild that left the process group could hold a pipe
        // open for ever, so the readers stop once nothing more comes for a moment.
        let output = await reader.finish()
        let errorOutput = await errorReader?.finish() ?? Data()
        let status = process.isRunning ? -1 : process.terminationStatus
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

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
        // Standard input: a file holding `input` (so no write can block or meet a closed pipe), or /dev/null.
        let inputFile = try input.map(Self.inputFile) ?? open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard inputFile >= 0 else { throw CommandError("cannot open /dev/null: errno \(errno)") }
        defer { close(inputFile) }
        // Output: one pipe (standard error interleaved) or two; this process keeps the read ends,
        // each read by a PipeReader thread with its own duplicate.
        let outputPipe = try Spawn.pipe()
        let errorPipe = separateErrorOutput ? try Spawn.pipe() : outputPipe
        let child: ChildProcess
        do {
            child = try ChildProcess(
                "/usr/bin/env", arguments: arguments, environment: environment, directory: directory, input: inputFile, output: outputPipe.write,
                error: errorPipe.write)
        } catch {
            for descriptor in Set([outputPipe.read, outputPipe.write, errorPipe.read, errorPipe.write]) { close(descriptor) }
            throw error
        }
        // The child has its copies of the write ends: ours close, so the pipes end when it does.
        close(outputPipe.write)
        if separateErrorOutput { close(errorPipe.write) }
        defer {
            close(outputPipe.read)
            if separateErrorOutput { close(errorPipe.read) }
        }
        let reader = try PipeReader(duplicating: outputPipe.read)
        let errorReader = separateErrorOutput ? try PipeReader(duplicating: errorPipe.read) : nil
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

    /// An open, already unlinked temporary file holding `input`, for a program's standard input.
    private static func inputFile(_ input: String) throws -> Int32 {
        let path = NSTemporaryDirectory() + "ope-input-\(UUID().uuidString)"
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CommandError("cannot write a program's input to \(path): errno \(errno)") }
        unlink(path)  // the open descriptor keeps it readable
        let bytes = Array(input.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                close(descriptor)
                throw CommandError("cannot write a program's input: errno \(errno)")
            }
            written += count
        }
        lseek(descriptor, 0, SEEK_SET)
        return descriptor
    }

    /// Largest standard input a program is given.
    public static let maxInput = 32 * 1024
}

/// A program could not be run as asked.
public struct CommandError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

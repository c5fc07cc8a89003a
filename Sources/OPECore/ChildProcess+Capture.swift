import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension ChildProcess {
    /// Where a captured program's standard error goes.
    public enum ErrorOutput: Sendable {
        /// Into the same reader as its output, interleaved.
        case merged
        /// Into a reader of its own.
        case apart
        /// To this process's standard error.
        case inherited
    }

    /// A started program whose output is being read as it comes.
    public struct Captured: Sendable {
        public let process: ChildProcess
        public let output: PipeReader
        /// Standard error, when it was asked for ``ErrorOutput/apart``.
        public let errors: PipeReader?
    }

    /// Starts `executable` with its standard output (and error, as `errors` says) read by
    /// ``PipeReader``s, each keeping the last `limit` bytes; `input` is its standard input, from
    /// an unlinked file so no write can block (/dev/null when nil). The pipes' ends are this
    /// function's to close: the readers hold duplicates, the child its copies.
    public static func capturing(
        _ executable: String, arguments: [String], environment: [String: String]? = nil, directory: String? = nil, input: String? = nil,
        errors: ErrorOutput = .merged, limit: Int = 64 * 1024
    ) throws -> Captured {
        let inputFile = try input.map(Spawn.inputFile)
        defer { if let inputFile { close(inputFile) } }
        let out = try Spawn.pipe()
        defer { close(out.read) }
        let err: (read: Int32, write: Int32)?
        do {
            err = errors == .apart ? try Spawn.pipe() : nil
        } catch {
            close(out.write)
            throw error
        }
        defer { if let err { close(err.read) } }
        let process: ChildProcess
        do {
            // The child has its copies of the write ends: ours close, so the pipes end when it does.
            defer {
                close(out.write)
                if let err { close(err.write) }
            }
            let errorDescriptor = err?.write ?? (errors == .inherited ? STDERR_FILENO : out.write)
            process = try ChildProcess(
                executable, arguments: arguments, environment: environment, directory: directory, input: inputFile, output: out.write,
                error: errorDescriptor)
        }
        return Captured(
            process: process, output: try PipeReader(duplicating: out.read, limit: limit),
            errors: try err.map { try PipeReader(duplicating: $0.read, limit: limit) })
    }
}

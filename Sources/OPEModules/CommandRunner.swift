import Foundation
import OPECore

/// Runs an external program (git, for example) without blocking a Swift concurrency thread,
/// and ends it when it outlives its time limit.
public struct CommandRunner: Sendable {
    /// What a finished program left behind.
    public struct Result: Sendable {
        public var status: Int32
        /// Standard output and error, interleaved, cut to the last 64 KiB.
        public var output: String
        public var timedOut: Bool
        public var succeeded: Bool { status == 0 && !timedOut }
    }

    public init() {}

    /// Runs `arguments[0]` (looked up in PATH) with the rest as its arguments.
    public func run(_ arguments: [String], in directory: String? = nil, environment: [String: String]? = nil, timeout: Duration) async throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        let collector = OutputCollector()
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { collector.append(data) }
        }
        let exited = AsyncStream<Int32>.makeStream(bufferingPolicy: .bufferingNewest(1))
        process.terminationHandler = { process in
            exited.continuation.yield(process.terminationStatus)
            exited.continuation.finish()
        }
        try process.runWithSignalsUnblocked()
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
        // What is still in the pipe, without a blocking read: a grandchild that left the process
        // group could hold the pipe open for ever.
        pipe.fileHandleForReading.readabilityHandler = nil
        collector.append(pipe.fileHandleForReading.readRemainingWithoutBlocking())
        try? pipe.fileHandleForReading.close()
        let status = process.isRunning ? -1 : process.terminationStatus
        return Result(status: status, output: collector.text, timedOut: timedOut)
    }
}

/// Collects output from the pipe's reader thread; the lock makes it safe to share.
private final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private let limit = 64 * 1024

    func append(_ chunk: Data) {
        lock.withLock {
            data.append(chunk)
            if data.count > limit { data = data.suffix(limit) }
        }
    }

    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}

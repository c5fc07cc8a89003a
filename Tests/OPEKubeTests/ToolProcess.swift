import Foundation
import KubeTestSupport
import OPETestSupport
import Synchronization

/// A real program the tests run (kubectl, the Python client): its output, read as it comes.
final class ToolProcess: Sendable {
    let process: Process
    private let output = OutputBuffer()
    private let errors = OutputBuffer()

    /// Starts `executable` with `arguments`; fails saying so if the tool is not installed.
    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw HarnessError(
                "\(executable) is not installed (scripts/install-deps.sh installs kubectl; scripts/setup-kube-tools.sh the Python tools; make test runs both)")
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let output = self.output
        let errors = self.errors
        try process.run()
        // Each pipe is read on a thread of its own, with plain blocking reads until its end: no
        // Dispatch source watches it, so none can outlive it (a pipe closed under a live
        // readability handler crashes the whole test process in _dispatch_event_loop_drain).
        for (pipe, buffer) in [(out, output), (err, errors)] {
            let handle = pipe.fileHandleForReading
            Thread.detachNewThread {
                while true {
                    let data = handle.availableData
                    if data.isEmpty { break }
                    buffer.data.withLock { $0.append(data) }
                }
                buffer.ended.withLock { $0 = true }
            }
        }
    }

    var stdout: String { output.data.withLock { String(decoding: $0, as: UTF8.self) } }
    var stderr: String { errors.data.withLock { String(decoding: $0, as: UTF8.self) } }

    /// Waits for the program to end (bounded) and returns its exit status.
    func wait(timeout: Duration = .seconds(120)) async throws -> Int32 {
        try await waitUntil("\(process.executableURL?.lastPathComponent ?? "the tool") to finish", timeout: timeout) { !self.process.isRunning }
        // The readers have everything once both pipes reached their end.
        try await waitUntil("the output to be read", timeout: .seconds(30)) {
            self.output.ended.withLock { $0 } && self.errors.ended.withLock { $0 }
        }
        return process.terminationStatus
    }

    func stop() {
        if process.isRunning { process.terminate() }
    }

    /// Runs the tool to its end and returns (status, stdout, stderr).
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, out: String, err: String)
    {
        let tool = try ToolProcess(executable, arguments, environment: environment)
        let status = try await tool.wait()
        return (status, tool.stdout, tool.stderr)
    }
}

/// Bytes a pipe delivered so far, and whether it has ended.
final class OutputBuffer: Sendable {
    let data = Mutex(Data())
    let ended = Mutex(false)
}

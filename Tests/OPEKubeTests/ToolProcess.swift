import Foundation
import OPECore
import Synchronization

/// A real program the tests run (kubectl, the Python client): its output, read as it comes.
final class ToolProcess: Sendable {
    let process: Process
    private let output = OutputBuffer()
    private let errors = OutputBuffer()
    private let pipes: [(Pipe, OutputBuffer)]

    /// Starts `executable` with `arguments`; fails saying so if the tool is not installed.
    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw HarnessError("\(executable) is not installed (scripts/install-deps.sh installs kubectl; scripts/setup-kube-tools.sh the Python tools; make test runs both)")
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
        pipes = [(out, output), (err, errors)]
        // At the end of a pipe (empty data) the handler takes itself off: a pipe closed while
        // Dispatch still watches it crashes the whole test process (in _dispatch_event_loop_drain).
        for (pipe, buffer) in [(out, output), (err, errors)] {
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                if data.isEmpty {
                    handle.readabilityHandler = nil
                } else {
                    buffer.data.withLock { $0.append(data) }
                }
            }
        }
        do {
            try process.run()
        } catch {
            for pipe in [out, err] { pipe.fileHandleForReading.readabilityHandler = nil }
            throw error
        }
    }

    var stdout: String { output.data.withLock { String(decoding: $0, as: UTF8.self) } }
    var stderr: String { errors.data.withLock { String(decoding: $0, as: UTF8.self) } }

    /// Waits for the program to end (bounded) and returns its exit status.
    func wait(timeout: Duration = .seconds(120)) async throws -> Int32 {
        try await StandInHarness.waitUntil("\(process.executableURL?.lastPathComponent ?? "the tool") to finish", timeout: timeout) { !self.process.isRunning }
        finishReading()
        return process.terminationStatus
    }

    func stop() {
        if process.isRunning { process.terminate() }
        finishReading()
    }

    /// Stops watching the pipes (Dispatch must not watch a pipe that is closed when this goes) and
    /// takes what is left in them, without waiting for a writer that may keep them open.
    private func finishReading() {
        for (pipe, buffer) in pipes {
            pipe.fileHandleForReading.readabilityHandler = nil
            let rest = pipe.fileHandleForReading.readRemainingWithoutBlocking()
            buffer.data.withLock { $0.append(rest) }
        }
    }

    deinit {
        for (pipe, _) in pipes { pipe.fileHandleForReading.readabilityHandler = nil }
    }

    /// Runs the tool to its end and returns (status, stdout, stderr).
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, out: String, err: String) {
        let tool = try ToolProcess(executable, arguments, environment: environment)
        let status = try await tool.wait()
        return (status, tool.stdout, tool.stderr)
    }
}

/// Bytes a pipe delivered so far.
final class OutputBuffer: Sendable {
    let data = Mutex(Data())
}

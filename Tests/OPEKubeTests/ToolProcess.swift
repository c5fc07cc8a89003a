import Foundation
import KubeTestSupport
import OPECore
import OPETestSupport

/// A real program the tests run (kubectl, the Python client): its output, read as it comes.
final class ToolProcess: Sendable {
    let process: ChildProcess
    private let output: PipeReader
    private let errors: PipeReader

    /// Starts `executable` with `arguments`; fails saying so if the tool is not installed.
    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw HarnessError(
                "\(executable) is not installed (scripts/install-deps.sh installs kubectl; scripts/setup-kube-tools.sh the Python tools; make test runs both)")
        }
        // Each stream is read by a PipeReader: a thread with its own descriptor that retries a read
        // a signal interrupted (FileHandle.availableData stops the whole test process on EINTR)
        // and that no Dispatch source watches (see PipeReader).
        let captured = try ChildProcess.capturing(
            executable, arguments: arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { $1 }, errors: .apart,
            limit: 64 << 20)
        process = captured.process
        output = captured.output
        errors = captured.errors!
    }

    var stdout: String { String(decoding: output.data, as: UTF8.self) }
    var stderr: String { String(decoding: errors.data, as: UTF8.self) }

    /// Waits for the program to end (bounded) and returns its exit status.
    func wait(timeout: Duration = .seconds(120)) async throws -> Int32 {
        try await waitUntil("\(URL(fileURLWithPath: process.executable).lastPathComponent) to finish", timeout: timeout) { !self.process.isRunning }
        // The readers have everything once both pipes reached their end.
        _ = await output.finish(grace: .seconds(10))
        _ = await errors.finish(grace: .seconds(10))
        return process.exitStatus ?? -1
    }

    func stop() {
        process.signal(SIGTERM)
    }

    /// Runs the tool to its end and returns (status, stdout, stderr).
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, out: String, err: String)
    {
        let tool = try ToolProcess(executable, arguments, environment: environment)
        let status = try await tool.wait()
        return (status, tool.stdout, tool.stderr)
    }
}

import Foundation
import OPECLI
import OPECore

/// The `ope serve` a load test runs against, as a child process.
final class LoadTestServer: Sendable {
    let process: ChildProcess
    /// What the server prints, read on a thread of its own (see PipeReader for why not a
    /// readability handler); set once the process runs.
    private let output: PipeReader

    /// The `ope` binary beside this `ope-bench`, where `swift build` puts both; an error naming the path when it is missing.
    static func siblingOPE() throws -> String {
        let me = URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0]).standardizedFileURL
        let path = me.deletingLastPathComponent().appendingPathComponent("ope").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw CLIError("no ope binary at \(path): build it (`swift build --product ope`, with -c release for release) or pass --ope")
        }
        return path
    }

    /// What the process prints once it serves: the all-in-one server's and an edge's line ends in
    /// the URL; a core's does not.
    let readyLine: String

    /// Starts `EXECUTABLE serve` on `port` (0: a free loopback port), without workspaces, on the data dir `data`.
    convenience init(executable: String, data: String, modules: String, port: Int = 0) throws {
        try self.init(
            executable: executable,
            arguments: [
                "serve", "--port", "\(port)", "--data", data, "--modules", modules, "--workspaces", "none", "--no-demo-users", "--log-level", "warning",
            ],
            readyLine: "OPE is running at "
        )
    }

    /// Starts `EXECUTABLE ARGUMENTS` (with `environment` added to this process's).
    init(executable: String, arguments: [String], readyLine: String, environment: [String: String] = [:]) throws {
        self.readyLine = readyLine
        self.arguments = arguments
        self.environment = environment
        let captured = try ChildProcess.capturing(
            URL(fileURLWithPath: executable).standardizedFileURL.path, arguments: arguments,
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 }, errors: .inherited, limit: 1 << 20)
        process = captured.process
        output = captured.output
    }

    let arguments: [String]
    let environment: [String: String]

    var pid: Int32 { process.pid }

    /// The same server started again (same arguments, so the same port and data dir).
    func again() throws -> LoadTestServer {
        try LoadTestServer(executable: process.executable, arguments: arguments, readyLine: readyLine, environment: environment)
    }

    /// The server's URL, once it prints that it is running (empty for a core, which prints none).
    func waitForURL() async throws -> String {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let text = String(decoding: output.data, as: UTF8.self)
            if let range = text.range(of: readyLine) {
                let rest = text[range.upperBound...]
                return String(rest.prefix { !$0.isWhitespace })
            }
            guard process.isRunning else { throw CLIError("the server exited: \(text)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CLIError("the server did not start within 60 s")
    }

    /// Stops the server as an operator would (SIGTERM) and waits for it; false if it was still
    /// running after `grace`, when it is killed: a server that does not stop is a finding, not a
    /// reason for the benchmark to hang.
    @discardableResult
    func stop(grace: Duration = .seconds(30)) -> Bool {
        guard process.isRunning else { return true }
        process.signal(SIGTERM)
        if process.blockUntilExit(within: grace) { return true }
        process.signal(SIGKILL)
        process.blockUntilExit(within: .seconds(30))
        return false
    }
}

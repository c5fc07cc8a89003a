import Foundation
import OPECore
import OPEGrading
import OPETestSupport
import Testing

/// `ope grade serve` as the grading container runs it: the built binary, its token from the
/// environment, a real pytest run through the client, and a graceful stop on SIGTERM.
@Suite struct GradeCommandTests {
    /// The built `ope`: `OPE_BIN` (set by `make test`), else the debug build in this checkout.
    static var binary: String {
        get throws {
            let path = ProcessInfo.processInfo.environment["OPE_BIN"] ?? GradingFixture.packageRoot + "/.build/debug/ope"
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw WaitFailure("the ope binary is missing at \(path): run `swift build --build-tests` first (make test does)")
            }
            return path
        }
    }

    @Test func gradeServeRunsTestsWithoutHandingItsTokenToThem() async throws {
        let fixture = try GradingFixture()
        defer { fixture.remove() }
        try fixture.writeStatsTask()
        let arguments = [
            "grade", "serve", "--files", fixture.files, "--tests", fixture.tests, "--host", "127.0.0.1", "--port", "0", "--scratch", fixture.scratch,
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["OPE_GRADING_TOKEN"] = GradingFixture.token
        environment["PATH"] = fixture.venv + "/bin:" + (environment["PATH"] ?? "/usr/bin:/bin")
        let captured = try ChildProcess.capturing(try Self.binary, arguments: arguments, environment: environment, errors: .merged)
        let process = captured.process
        let output = Output(reader: captured.output)
        defer {
            process.signal(SIGKILL)
            output.reader.abandon()
        }

        try await waitUntil("ope grade serve listens", timeout: .seconds(60)) {
            guard process.isRunning else { throw WaitFailure("ope grade serve exited (\(process.exitStatus ?? -1)):\n\(output.text)") }
            return output.port != nil
        }
        let port = try #require(output.port)
        let command = "echo \"token=[$OPE_GRADING_TOKEN] session=$OPE_SESSION task=$OPE_TASK\" && " + GradingFixture.pytest
        let result = try await withGradingClient(GradingFixture.client(port: port)) { client in
            let readiness = try await client.check()
            #expect(readiness.ready)
            return try await client.runTests(
                GradingRequest(session: "s-cli", task: "mean", command: command, timeout: .seconds(120), testFiles: ["tests/test_stats.py"]))
        }
        #expect(result.passed, "\(result.output)")
        #expect(result.output.contains("token=[] session=s-cli task=mean"), "\(result.output)")
        #expect(result.cases.count == 4)

        process.signal(SIGTERM)
        try await waitUntil("ope grade serve exits on SIGTERM", timeout: .seconds(30)) { !process.isRunning }
        #expect(process.exitStatus == 0, "\(output.text)")
    }

    @Test func gradeServeWantsAToken() async throws {
        let fixture = try GradingFixture()
        defer { fixture.remove() }
        let environment = ProcessInfo.processInfo.environment.filter { $0.key != "OPE_GRADING_TOKEN" }
        let result = try await CommandRunner().run(
            [try Self.binary, "grade", "serve", "--files", fixture.files, "--tests", fixture.tests, "--port", "0"], environment: environment,
            inheritEnvironment: false, timeout: .seconds(60))
        #expect(result.status != 0)
        #expect(result.output.contains("no token: give --token-file FILE or set OPE_GRADING_TOKEN"), "\(result.output)")
    }

    /// A process's output, filled from the pipe's callback.
    /// The server's output as it comes (read by a thread of its own; see PipeReader).
    struct Output: Sendable {
        let reader: PipeReader
        var text: String { String(decoding: reader.data, as: UTF8.self) }

        /// The port from the "listening on 127.0.0.1:PORT" line.
        var port: Int? {
            guard let range = text.range(of: "listening on 127.0.0.1:") else { return nil }
            return Int(text[range.upperBound...].prefix { $0.isNumber })
        }
    }
}

import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import OPECore
import OPEGrading
import OPETestSupport
import Testing

/// The grading service and its client over gRPC on loopback, running real pytest from the project's virtualenv.
@Suite struct GradingServiceTests {
    @Test func aPassingTaskReportsEveryCase() async throws {
        let fixture = try GradingFixture()
        defer { fixture.remove() }
        try fixture.writeStatsTask()
        let result = try await fixture.withServer { port in
            try await withGradingClient(GradingFixture.client(port: port)) { client in
                try await client.runTests(
                    GradingRequest(session: "s-pass", task: "mean", command: GradingFixture.pytest, timeout: .seconds(120), testFiles: ["tests/test_stats.py"])
                )
            }
        }
        #expect(result.passed, "\(result.output)")
        #expect(!result.timedOut)
        #expect(result.exitStatus == 0)
        #expect(result.durationMs > 0)
        #expect(result.output.contains("4 passed"), "\(result.output)")
        #expect(Set(result.cases.map(\.name)) == ["test_mean", "test_empty", "test_more[values0-4]", "test_more[values1-2]"])
        #expect(result.cases.allSatisfy { $0.outcome == .passed })
    }

    @Test func aFailingTaskNamesItsFailures() async throws {
        let fixture = try GradingFixture()
        defer { fixture.remove() }
        // The team's mean divides by one too many.
        try fixture.writeStatsTask(teamMean: "sum(values) / (len(values) + 1)")
        let result = try await fixture.withServer { port in
            try await withGradingClient(GradingFixture.client(port: port)) { client in
                try await client.runTests(
                    GradingRequest(session: "s-fail", task: "mean", command: GradingFixture.pytest, timeout: .seconds(120), testFiles: ["tests/test_stats.py"])
                )
            }
        }
        #expect(!result.passed)
        #expect(!result.timedOut)
        #expect(result.exitStatus == 1)
        let outcomes = Dictionary(uniqueKeysWithValues: result.cases.map { ($0.name, $0.outcome) })
        #expect(
            outcomes == ["test_mean": .failed, "test_empty": .passed, "test_more[values0-4]": .failed, "test_more[values1-2]": .failed], "\(result.output)")
        let failure = try #require(result.cases.first { $0.name == "test_mean" })
        #expect(failure.message?.contains("assert") == true, "\(failure)")
    }

    @Test func hiddenTestsAreLaidOverACopyAndTheTeamsFilesStayAsTheyWere() async throws {
        let fixture = try GradingFixture()
        defer { fixture.remove() }
        try fixture.writeStatsTask()
        // The team has a test file of the same name (which passes whatever) and one of its own;
        // the hidden one replaces the first in the copy. A hidden helper is nowhere in the team's folder.
        try fixture.write("def test_decoy():\n    pass\n", to: "tests/test_stats.py", in: fixture.files)
        try fixture.write("print('notes')\n", to: "notes.py", in: fixture.files)
        try fixture.write("{}", to: ".ipynb_checkpoints/stats-checkpoint.py", in: fixture.files)
        try fixture.write("EXPECTED = 2\n", to: "tests/helpers/expected.py", in: fixture.tests)
        #expect(!FileManager.default.fileExists(atPath: fixture.files + "/tests/helpers"))
        let before = try fixture.snapshot(fixture.files)
        // The command writes into its working folder (the copy), and shows what the copy holds.
        let command =
            "echo scribble > stats.py.bak && touch tests/new_file && ls -a . tests tests/helpers && cat tests/helpers/expected.py && " + GradingFixture.pytest
        let result = try await fixture.withServer { port in
            try await withGradingClient(GradingFixture.client(port: port)) { client in
                try await client.runTests(
                    GradingRequest(
                        session: "s-overlay", task: "mean", command: command, timeout: .seconds(120),
                        testFiles: ["tests/test_stats.py", "tests/helpers/expected.py"]))
            }
        }
        #expect(result.passed, "\(result.output)")
        #expect(result.output.contains("EXPECTED = 2"))
        #expect(!result.output.contains(".ipynb_checkpoints"), "hidden entries are not copied: \(result.output)")
        #expect(!result.cases.contains { $0.name == "test_decoy" }, "the hidden test file replaces the team's")
        #expect(result.cases.count == 4)
        #expect(try fixture.snapshot(fixture.files) == before, "the team's folder is unchanged")
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.scratch).isEmpty, "the scratch copy is removed")
    }

    @Test func aRunPastItsLimitIsStoppedAndSaysWhy() async throws {
        let fixture = try GradingFixture()
        defer { fixture.remove() }
        let marker = "ope-grading-timeout-\(UUID().uuidString.prefix(8))"
        let result = try await fixture.withServer { port in
            try await withGradingClient(GradingFixture.client(port: port)) { client in
                try await client.runTests(
                    GradingRequest(
                        session: "s-slow", task: "loop", command: "echo started; python -c 'import time; time.sleep(3600)' \(marker)", timeout: .seconds(1)),
                    // The run stops after 1 s; the call waits longer, as a full `make test` can
                    // hold the stop and its answer up by more than the usual 30 s margin.
                    deadline: .seconds(120))
            }
        }
        #expect(result.timedOut)
        #expect(!result.passed)
        #expect(result.output.hasPrefix("started"), "\(result.output)")
        #expect(result.output.contains("did not finish within 1 s and were stopped"), "\(result.output)")
        #expect(result.output.contains("an endless loop"))
        #expect(result.durationMs < 60_000)
        try await waitUntil("the timed-out run's processes are gone", timeout: .seconds(30)) {
            try await CommandRunner().run(["pgrep", "-f", marker], timeout: .seconds(5)).status != 0
        }
    }

    @Test func aWrongOrMissingTokenIsUnauthenticated() async throws {
        let fixture = try GradingFixture()
        defer { fixture.remove() }
        try fixture.writeStatsTask()
        try await fixture.withServer { port in
            try await withGradingClient(GradingFixture.client(port: port, token: "not-the-token")) { client in
                let run = await #expect(throws: GradingError.self) {
                    try await client.runTests(
                        GradingRequest(session: "s", task: "mean", command: GradingFixture.pytest, timeout: .seconds(60), testFiles: ["tests/test_stats.py"]))
                }
                #expect(run?.kind == .unauthenticated, "\(String(describing: run))")
                let check = await #expect(throws: GradingError.self) { try await client.check() }
                #expect(check?.kind == .unauthenticated)
            }
            // No authorization metadata at all.
            try await withGRPCClient(transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) { grpc in
                let error = await #expect(throws: RPCError.self) {
                    try await Ope_Grading_V1_Grading.Client(wrapping: grpc).check(Ope_Grading_V1_CheckRequest())
                }
                #expect(error?.code == .unauthenticated)
                #expect(error?.message.contains("authorization") == true)
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.scratch).isEmpty, "nothing ran")
    }

    @Test func badFieldsAreInvalidArgumentsNamingTheField() async throws {
        let fixture = try GradingFixture()
        defer { fixture.remove() }
        try fixture.writeStatsTask()
        try fixture.write("SECRET = 1\n", to: "outside.py", in: fixture.root)
        try FileManager.default.createSymbolicLink(atPath: fixture.tests + "/tests/link.py", withDestinationPath: fixture.root + "/outside.py")
        let good = GradingRequest(session: "s-bad", task: "mean", command: GradingFixture.pytest, timeout: .seconds(60), testFiles: ["tests/test_stats.py"])
        var cases: [(GradingRequest, String)] = []
        for file in ["/etc/passwd", "../files/stats.py", "tests/../../outside.py", "tests/nope.py", "tests/link.py", "", "."] {
            var request = good
            request.testFiles = [file]
            cases.append((request, "test_files:"))
        }
        var request = good
        request.command = "  \n"
        cases.append((request, "command:"))
        for timeout in [Duration.zero, .seconds(3601)] {
            request = good
            request.timeout = timeout
            cases.append((request, "timeout_seconds:"))
        }
        request = good
        request.session = ""
        cases.append((request, "session:"))
        request = good
        request.environment = ["A=B": "c"]
        cases.append((request, "environment:"))
        let checked = cases
        try await fixture.withServer { port in
            try await withGradingClient(GradingFixture.client(port: port)) { client in
                for (request, field) in checked {
                    let error = await #expect(throws: GradingError.self, "\(request)") { try await client.runTests(request) }
                    #expect(error?.kind == .invalidArgument, "\(request): \(String(describing: error))")
                    #expect(error?.message.hasPrefix(field) == true, "\(request): \(String(describing: error))")
                }
                // The good request still runs.
                let rerun = try await client.runTests(good)
                #expect(rerun.passed)
            }
        }
    }

    @Test func aSecondRunForASessionIsRefusedAndRunsBeyondTheLimitToo() async throws {
        let fixture = try GradingFixture()
        defer { fixture.remove() }
        let gate = fixture.root + "/gate"
        // Each blocking run says it started, then waits for the test to open the gate.
        @Sendable func blocking(_ session: String) -> GradingRequest {
            GradingRequest(
                session: session, task: "wait",
                command: "touch \"$GATE/started-$OPE_SESSION\"; while [ ! -e \"$GATE/open\" ]; do sleep 0.05; done; echo done $OPE_SESSION $OPE_TASK",
                timeout: .seconds(300), environment: ["GATE": gate])
        }
        try FileManager.default.createDirectory(atPath: gate, withIntermediateDirectories: true)
        try await fixture.withServer(maxConcurrent: 2) { port in
            try await withGradingClient(GradingFixture.client(port: port)) { client in
                try await withThrowingTaskGroup(of: GradingResult.self) { group in
                    group.addTask { try await client.runTests(blocking("s-one")) }
                    try await waitUntil("the first run started") { FileManager.default.fileExists(atPath: gate + "/started-s-one") }

                    let again = await #expect(throws: GradingError.self) { try await client.runTests(blocking("s-one")) }
                    #expect(again?.kind == .sessionBusy)
                    #expect(again?.message.contains("already running") == true, "\(String(describing: again))")

                    group.addTask { try await client.runTests(blocking("s-two")) }
                    try await waitUntil("the second session's run started") { FileManager.default.fileExists(atPath: gate + "/started-s-two") }
                    let third = await #expect(throws: GradingError.self) { try await client.runTests(blocking("s-three")) }
                    #expect(third?.kind == .atCapacity, "\(String(describing: third))")
                    #expect(!FileManager.default.fileExists(atPath: gate + "/started-s-three"))

                    #expect(FileManager.default.createFile(atPath: gate + "/open", contents: nil))
                    var outputs: [String] = []
                    for try await result in group {
                        #expect(result.passed)
                        outputs.append(result.output.trimmingCharacters(in: .whitespacesAndNewlines))
                    }
                    #expect(Set(outputs) == ["done s-one wait", "done s-two wait"])
                }
                // Once done, the session may run again.
                let later = try await client.runTests(blocking("s-one"))
                #expect(later.passed)
            }
        }
    }

    @Test func checkSaysWhetherTheFoldersAreThere() async throws {
        let fixture = try GradingFixture()
        defer { fixture.remove() }
        try await fixture.withServer { port in
            try await withGradingClient(GradingFixture.client(port: port)) { client in
                let readiness = try await client.check()
                #expect(readiness == GradingClient.Readiness(ready: true, reason: nil))
            }
        }
        try await fixture.withServer(testsFolder: fixture.root + "/missing") { port in
            try await withGradingClient(GradingFixture.client(port: port)) { client in
                let readiness = try await client.check()
                #expect(!readiness.ready)
                #expect(readiness.reason?.contains("tests folder") == true)
                let error = await #expect(throws: GradingError.self) {
                    try await client.runTests(GradingRequest(session: "s", task: "t", command: "true", timeout: .seconds(5)))
                }
                #expect(error?.kind == .unavailable)
            }
        }
    }

    @Test func noServiceIsUnavailableAfterTheCheckRetries() async throws {
        // A port that was free a moment ago: nothing listens there.
        let fixture = try GradingFixture()
        defer { fixture.remove() }
        let port = try await fixture.withServer { port in port }
        try await withGradingClient(GradingFixture.client(port: port)) { client in
            // Three attempts 0.2 s and 0.4 s apart, then "unavailable" (not a deadline: how long that
            // takes depends on the machine's load, so no time is asserted).
            let error = await #expect(throws: GradingError.self) { try await client.check() }
            #expect(error?.kind == .unavailable, "\(String(describing: error))")
            let run = await #expect(throws: GradingError.self) {
                try await client.runTests(GradingRequest(session: "s", task: "t", command: "true", timeout: .seconds(5)))
            }
            #expect(run?.kind == .unavailable, "\(String(describing: run))")
        }
    }
}

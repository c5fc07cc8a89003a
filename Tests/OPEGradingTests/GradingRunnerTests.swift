import Foundation
import OPECore
import Testing

@testable import OPEGrading

/// The runner's rules that need no server.
@Suite struct GradingRunnerTests {
    @Test func aRunKeepsOnlyTheServersPathAndLanguage() {
        let kept = GradingRunner.inheritedEnvironment(["PATH": "/opt/bin", "LANG": "C.UTF-8", "OPE_GRADING_TOKEN": "secret", "HOME": "/root"])
        #expect(kept == ["PATH": "/opt/bin", "LANG": "C.UTF-8"])
        #expect(GradingRunner.inheritedEnvironment([:]) == ["PATH": "/usr/local/bin:/usr/bin:/bin"])
    }

    @Test func opesVariablesWinOverTheRequests() {
        let runner = GradingRunner(configuration: .init(filesFolder: "/f", testsFolder: "/t", baseEnvironment: ["PATH": "/bin", "COLUMNS": "80"]))
        let request = GradingRequest(
            session: "s-1", task: "t-1", command: "true", timeout: .seconds(5),
            environment: ["OPE_SESSION": "other", "DATABASE_URL": "mysql://x", "PATH": "/venv/bin:/bin"])
        let environment = runner.environment(for: request, home: "/scratch/x")
        #expect(environment["OPE_SESSION"] == "s-1")
        #expect(environment["OPE_TASK"] == "t-1")
        #expect(environment["DATABASE_URL"] == "mysql://x")
        #expect(environment["PATH"] == "/venv/bin:/bin")
        #expect(environment["HOME"] == "/scratch/x")
        #expect(environment["COLUMNS"] == "200")
        #expect(environment["PYTHONDONTWRITEBYTECODE"] == "1")
        #expect(environment["PYTEST_ADDOPTS"] == "-p no:cacheprovider " + TestReport.pytestOptions)
    }

    @Test func aRequestFromAModuleTask() throws {
        let task = ModuleTask(
            id: "mean", title: "Mean", instructions: "",
            test: TaskTest(command: "python -m pytest -q tests/test_stats.py", files: ["tests/test_stats.py"], timeout: .milliseconds(90_500)))
        let request = try #require(GradingRequest(session: "s", task: task, environment: ["A": "b"]))
        #expect(request.command == "python -m pytest -q tests/test_stats.py")
        #expect(request.testFiles == ["tests/test_stats.py"])
        #expect(request.timeoutSeconds == 91)
        #expect(request.environment == ["A": "b"])
        #expect(GradingRequest(session: "s", task: ModuleTask(id: "read", title: "Read", instructions: "")) == nil)
    }

    @Test func longOutputKeepsItsHeadAndTail() {
        let output =
            String(repeating: "a", count: TestReport.outputHead) + String(repeating: "m", count: 500)
            + String(repeating: "z", count: TestReport.outputTail)
        let excerpt = TestReport.excerpt(output)
        #expect(excerpt.hasPrefix(String(repeating: "a", count: TestReport.outputHead) + "\n"))
        #expect(excerpt.hasSuffix("\n" + String(repeating: "z", count: TestReport.outputTail)))
        #expect(excerpt.contains("(500 characters of output left out)"))
        #expect(!excerpt.contains("m"))
        #expect(TestReport.excerpt("short") == "short")
    }

    @Test func outcomesCrossTheWireBothWays() {
        let cases = [
            TestReport.Case(name: "a", outcome: .passed), TestReport.Case(name: "b", outcome: .failed, message: "AssertionError: assert 1 == 2"),
            TestReport.Case(name: "c", outcome: .error, message: "fixture"), TestReport.Case(name: "d", outcome: .skipped, message: "later"),
            TestReport.Case(name: "e", outcome: .xfailed), TestReport.Case(name: "f", outcome: .xpassed),
        ]
        let result = GradingResult(passed: false, timedOut: false, exitStatus: 1, durationMs: 1234, output: "out", cases: cases)
        #expect(GradingResult(Ope_Grading_V1_RunTestsResponse(result)) == result)
        var unknown = Ope_Grading_V1_Case()
        unknown.name = "g"
        unknown.outcome = .UNRECOGNIZED(42)
        #expect(TestReport.Case(unknown).outcome == .error)
        #expect(TestReport.Case(unknown).message?.contains("42") == true)
    }

    @Test func tokensAreComparedWhole() {
        #expect(BearerTokenCheck.same(Array("Bearer abc".utf8), Array("Bearer abc".utf8)))
        #expect(!BearerTokenCheck.same(Array("Bearer abd".utf8), Array("Bearer abc".utf8)))
        #expect(!BearerTokenCheck.same(Array("Bearer ab".utf8), Array("Bearer abc".utf8)))
    }
}

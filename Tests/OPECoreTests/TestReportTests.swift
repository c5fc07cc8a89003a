import OPECore
import Testing

/// The page lists each test from pytest's short summary, so what pytest prints must be read right,
/// parameters with " - " and "]" in them included.
@Suite struct TestReportTests {
    static let output = """
        ..F.sx
        =================================== FAILURES ===================================
        ____________________________ test_tokenize[a - b] ____________________________
        E   AssertionError: assert ['a', 'b'] == ['a - b']
        =========================== short test summary info ============================
        PASSED tests/test_text_stats.py::test_word_count[one two-2]
        PASSED tests/test_text_stats.py::TestGroup::test_inner
        FAILED tests/test_text_stats.py::test_tokenize[a - b-expected0] - AssertionError: assert ['a', 'b'] == ['a - b']
        FAILED tests/test_text_stats.py::test_most_common_zero - NotImplementedError: most_common is not written yet
        ERROR tests/test_rle.py::test_decode - ImportError: cannot import name 'decode'
        SKIPPED [1] tests/test_text_stats.py:40: needs a network
        XFAIL tests/test_text_stats.py::test_later - not yet
        PASSED tests/test_text_stats.py::test_tokenize[]]
        1 failed, 2 passed, 1 skipped, 1 xfailed in 0.12s
        """

    @Test func everyTestIsReadFromTheShortSummary() {
        let report = TestReport(pytestOutput: Self.output)
        #expect(
            report.cases.map(\.name) == [
                "test_word_count[one two-2]", "TestGroup::test_inner", "test_tokenize[a - b-expected0]", "test_most_common_zero", "test_decode",
                "tests/test_text_stats.py:40", "test_later", "test_tokenize[]]",
            ])
        #expect(report.cases.map(\.outcome) == [.passed, .passed, .failed, .failed, .error, .skipped, .xfailed, .passed])
        #expect(report.cases[2].message == "AssertionError: assert ['a', 'b'] == ['a - b']")
        #expect(report.cases[4].message == "ImportError: cannot import name 'decode'")
        #expect(report.cases[5].message == "needs a network")
        #expect(report.failures.map(\.name) == ["test_tokenize[a - b-expected0]", "test_most_common_zero", "test_decode"])
        #expect(report.passedCount == 3)
        // Lines outside the summary (tracebacks, the final count) are not tests.
        #expect(!report.cases.contains { $0.name.contains("in 0.12s") })
    }

    @Test func itSurvivesTheEventLog() {
        let report = TestReport(pytestOutput: Self.output)
        #expect(TestReport(json: report.json) == report)
        #expect(TestReport(json: nil).cases.isEmpty)
        #expect(TestReport(json: .array([.object(["name": .string("x"), "outcome": .string("exploded")])])).cases.isEmpty)
    }

    @Test func otherCommandsGiveNoCases() {
        #expect(TestReport(pytestOutput: "OK: 3 checks\nPASSED nothing here\n").cases.isEmpty)
        #expect(TestReport(pytestOutput: "").cases.isEmpty)
    }
}

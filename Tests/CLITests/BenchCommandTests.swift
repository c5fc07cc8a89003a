import Foundation
import Testing

/// `ope-bench`, the tools built apart from the product: the product no longer carries them, and they still run.
@Suite struct BenchCommandTests {
    @Test func theProductCarriesNoToolsAndOPEBenchDoes() async throws {
        let help = try await OPEProcess.run(["--help"])
        #expect(help.status == 0, "\(help.stderr)")
        for command in ["serve", "user", "module", "plan", "export", "kube"] { #expect(help.stdout.contains("  \(command)"), "ope --help lacks \(command)") }
        for command in ["bench", "loadtest", "debug"] { #expect(!help.stdout.contains(command), "ope --help still lists \(command):\n\(help.stdout)") }
        let gone = try await OPEProcess.run(["bench", "events"])
        #expect(gone.status != 0)

        let benchHelp = try await OPEProcess.runBench(["--help"])
        #expect(benchHelp.status == 0, "\(benchHelp.stderr)")
        for command in ["events", "proxy", "loadtest", "debug"] {
            #expect(benchHelp.stdout.contains("  \(command)"), "ope-bench --help lacks \(command):\n\(benchHelp.stdout)")
        }
    }

    @Test func eventsBenchmarkCountsEveryEvent() async throws {
        let result = try await OPEProcess.runBench(["events", "--count", "200", "--writers", "10", "--baseline-count", "20"], timeout: .seconds(120))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("events in the log: 220"), "\(result.stdout)")
    }

    /// A small load test: it serves with the `ope` beside `ope-bench` and reports no errors.
    @Test func loadTestServesWithTheOPEBesideIt() async throws {
        let result = try await OPEProcess.runBench(
            [
                "loadtest", "--users", "4", "--messages", "1", "--interval", "0.2", "--password-sign-ins", "2", "--concurrency", "4",
                "--modules", CLICommandTests.examples,
            ],
            timeout: .seconds(300)
        )
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("=== ope-bench loadtest: 4 users"), "\(result.stdout)")
        #expect(result.stdout.contains("errors:            0"), "\(result.stdout)\n\(result.stderr)")
    }
}

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

    /// A small load test through both layouts: one `ope serve` beside `ope-bench`, then two edges
    /// and two cores; no errors in either, and the table comparing them.
    @Test func loadTestServesWithTheOPEBesideIt() async throws {
        let result = try await OPEProcess.runBench(
            [
                "loadtest", "--users", "4", "--messages", "1", "--interval", "0.2", "--password-sign-ins", "2", "--concurrency", "4",
                "--modules", CLICommandTests.examples, "--layouts", "all,cluster", "--module", "python-intro,sql-joins",
            ],
            timeout: .seconds(300)
        )
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("=== ope-bench loadtest: all-in-one, 4 users"), "\(result.stdout)")
        #expect(result.stdout.contains("=== ope-bench loadtest: 2 edges + 2 cores, 4 users"), "\(result.stdout)")
        #expect(result.stdout.components(separatedBy: "errors:            0").count == 3, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("cluster CPU per chat message / all-in-one's:"), "\(result.stdout)")
    }
}

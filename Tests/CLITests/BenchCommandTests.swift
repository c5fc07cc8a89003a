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

    /// The benchmarks' smoke check, in every CI run: short forms that fail only on a gross
    /// regression, never on a busy machine's noise.
    /// - group commit must keep 3x the one-commit-per-event baseline of the same run (`--smoke`);
    /// - a small load with bad input beside it (a bot failing on every step, 1 MiB frames, sockets
    ///   that never read) and a reconnect storm: no errors, every oversized frame cut off with its
    ///   reason, every room back after the restart, and the others' median chat latency at most 3x
    ///   (plus 250 ms of slack for a debug build on a busy machine) of the same load without bad input.
    @Test func benchmarkSmokeFailsOnlyOnGrossRegressions() async throws {
        let events = try await OPEProcess.runBench(["events", "--smoke"], timeout: .seconds(600))
        #expect(events.status == 0, "\(events.stdout)\n\(events.stderr)")

        let summary = NSTemporaryDirectory() + "ope-bench-smoke-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: summary) }
        let load = try await OPEProcess.runBench(
            [
                "loadtest", "--users", "40", "--messages", "2", "--interval", "1", "--password-sign-ins", "2", "--concurrency", "8",
                "--modules", CLICommandTests.examples, "--layouts", "all,bad", "--reconnect-storm", "--summary", summary,
            ],
            timeout: .seconds(600)
        )
        let output = load.stdout + "\n" + load.stderr
        #expect(load.status == 0, "\(output)")
        #expect(load.stdout.components(separatedBy: "errors:            0").count == 3, "\(output)")
        // The storm: all 40 rooms back, none lost.
        #expect(load.stdout.contains("40 of 40 rooms back, 0 gave up"), "\(output)")
        // Bad input: every 1 MiB frame ended by the server with the reason, and the failing bot's
        // team told about each failure in its record.
        let oversized = load.stdout.split(separator: "\n").first { $0.contains("1 MiB frames:") }.map(String.init) ?? ""
        #expect(oversized.contains("messageTooLarge \"frames are limited to 64 KiB\""), "\(output)")
        #expect(!oversized.contains("error:") && !oversized.contains("without a close frame"), "\(oversized)")
        #expect(load.stdout.contains("ope_room_sockets_closed_total{reason=\"frame_too_large\"}"), "\(output)")
        // The median, not the p99: 80 deliveries on a machine running the rest of the suite give
        // a p99 that is one unlucky pause; a server stalled by the bad input moves the median.
        let medians = load.stdout.split(separator: "\n").filter { $0.hasPrefix("chat fan-out:") }.compactMap { line -> Double? in
            guard let range = line.range(of: "p50 ") else { return nil }
            return Double(line[range.upperBound...].prefix { $0.isNumber || $0 == "." })
        }
        #expect(medians.count == 2, "\(output)")
        if medians.count == 2 {
            #expect(medians[1] <= 3 * medians[0] + 250, "chat p50 with bad input \(medians[1]) ms vs \(medians[0]) ms without")
        }
        // The run's rows reach the one table.
        let table = try await OPEProcess.runBench(["table", summary])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("reconnect storm: 40 rooms after a restart"), "\(table.stdout)")
        #expect(table.stdout.contains("chat p99 with bad input beside it"), "\(table.stdout)")
    }
}

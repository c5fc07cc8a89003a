import ArgumentParser
import Foundation
import OPECLI
import OPECore
import OPEStore
import Synchronization

/// `ope-bench events`: how many durable events per second the event log takes.
struct EventsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Durable events per second with group commit, against one transaction per event as the baseline.",
        discussion: """
            Each run appends to a fresh store in a temporary data dir (or in a folder of --data). Every event is \
            committed and fsynced before its append returns and counts. --smoke runs briefly and fails only when group \
            commit has lost most of its advantage.
            """
    )
    @Option(help: "Events to append with group commit, per run.") var count: Int = 200_000
    @Option(help: "Concurrent writers (like rooms appending at once); repeat for several runs.") var writers: [Int] = [500, 1000]
    @Option(name: .customLong("baseline-count"), help: "Events for the one-transaction-per-event baseline.") var baselineCount: Int = 2_000
    @Option(help: "Data dir to hold the runs' stores (default: a temporary one, removed afterwards).") var data: String?
    @Option(help: "Append this run's figures to this file for `ope-bench table` (make bench's one table).") var summary: String?
    @Flag(help: "A run of a few seconds (baseline, then 500 writers) that exits non-zero on a gross regression.") var smoke = false

    /// The smoke run fails below this multiple of the baseline's events/s.
    ///
    /// A pipeline that has fallen back to one commit per event runs at about the baseline's rate
    /// however many writers wait (each event pays an fsync of its own): 1x. A working one measured
    /// 18x to 190x on this 2-core machine's disk, quiet or busy (the ratio is lowest when fsyncs are
    /// fast), and 11x on tmpfs, where an fsync costs nothing and only per-transaction CPU is saved.
    /// Noise moves both rates, and mostly together: a busy CPU slows both runs, a slow disk slows
    /// the baseline more. 3x leaves room under every healthy figure and still fails a degenerate pipeline.
    static let smokeMinimumRatio = 3.0

    /// One measured run.
    struct Run {
        var label: String
        var events: Int
        var commits: Int
        var seconds: Double
        /// Each append's time from call to return, sorted.
        var latencies: [Duration]

        var rate: Double { Double(events) / seconds }

        func latency(_ fraction: Double) -> Duration {
            latencies[min(latencies.count - 1, Int(Double(latencies.count) * fraction))]
        }
    }

    func run() async throws {
        let folder = data ?? NSTemporaryDirectory() + "ope-bench-\(UUID().uuidString)"
        defer { if data == nil { try? FileManager.default.removeItem(atPath: folder) } }
        let baselineCount = smoke ? 300 : self.baselineCount
        let writerCounts = smoke ? [500] : writers
        let count = smoke ? 50_000 : self.count

        var runs = [try await measure(label: "one commit per event (1 writer)", folder: folder + "/baseline", writers: 1, perWriter: baselineCount)]
        for writers in writerCounts {
            runs.append(
                try await measure(
                    label: "group commit, \(writers) writers", folder: folder + "/writers-\(writers)", writers: writers, perWriter: max(1, count / writers))
            )
        }
        print("Durable appends: SQLite WAL with synchronous=FULL; an append returns after its commit's fsync.")
        print(Self.table(runs))
        // Each run checked its own store; the sum is what scripts and tests read.
        print("events in the log: \(runs.map(\.events).reduce(0, +)), every appended event read back")
        let baselineRate = runs[0].rate
        try BenchSummary.append(
            runs.dropFirst().map { run in
                BenchRow(
                    measure: "durable events/s, group commit, \(run.label.split(separator: ",").last!.trimmingCharacters(in: .whitespaces))",
                    ours: "\(Int(run.rate))/s, p99 append \(Self.milliseconds(run.latency(0.99)))",
                    baseline: String(format: "1 commit per event: %d/s (ours %.0fx)", Int(baselineRate), run.rate / baselineRate),
                    target: run.label.hasSuffix(" 500 writers") ? "≥ 50,000/s" : "-",
                    met: run.label.hasSuffix(" 500 writers") ? run.rate >= 50_000 : nil)
            }, to: summary)
        guard smoke else { return }
        let baseline = runs[0].rate
        let failing = runs.dropFirst().filter { $0.rate < baseline * Self.smokeMinimumRatio }
        for run in failing {
            print("SMOKE FAILED: \(run.label) at \(Int(run.rate)) events/s is under \(Self.smokeMinimumRatio)x the baseline's \(Int(baseline))")
        }
        if !failing.isEmpty { throw ExitCode.failure }
        print("smoke: every group commit run is over \(Self.smokeMinimumRatio)x the baseline")
    }

    /// Appends `perWriter` events from each of `writers` concurrent writers to a fresh store.
    func measure(label: String, folder: String, writers: Int, perWriter: Int) async throws -> Run {
        // A store left by an earlier run would add its events to this one's count.
        guard !FileManager.default.fileExists(atPath: folder) else { throw CLIError("\(folder) exists: pass a --data folder without earlier runs") }
        let store = try Store(dataDirectory: folder)
        let payload = ChatPayload(text: "a chat message of ordinary length, about sixty characters", clientId: "c-1")
        // Each subscriber call is one committed transaction, so one fsync.
        let commits = Atomic<Int>(0)
        let subscription = await store.events.subscribe { _ in commits.add(1, ordering: .relaxed) }
        let clock = ContinuousClock()
        let start = clock.now
        let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var latencies: [Duration] = []
                    latencies.reserveCapacity(perWriter)
                    for _ in 0..<perWriter {
                        let started = clock.now
                        _ = try await store.events.append(EventDraft(type: .chatMessage, actor: "bench", session: "s\(writer)", payload: payload))
                        latencies.append(clock.now - started)
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: [Duration]()) { $0 += $1 }
        }
        let seconds = (clock.now - start).timeInterval
        await store.events.unsubscribe(subscription)
        let stored = try await store.reader.count()
        guard stored == writers * perWriter else { throw CLIError("\(label): \(stored) events in the log, \(writers * perWriter) appended") }
        return Run(label: label, events: stored, commits: commits.load(ordering: .relaxed), seconds: seconds, latencies: latencies.sorted())
    }

    static func table(_ runs: [Run]) -> String {
        let baseline = runs[0].rate
        let header = ["run", "events", "commits", "events/commit", "events/s", "vs baseline", "p50 append", "p99 append"]
        let rows = runs.map { run in
            [
                run.label, "\(run.events)", "\(run.commits)", String(format: "%.1f", Double(run.events) / Double(max(run.commits, 1))),
                "\(Int(run.rate))", String(format: "%.1fx", run.rate / baseline), milliseconds(run.latency(0.5)), milliseconds(run.latency(0.99)),
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max()! }
        return ([header] + rows).map { cells in
            cells.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column == 0 ? cell + padding : padding + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    static func milliseconds(_ duration: Duration) -> String {
        String(format: "%.2f ms", duration.timeInterval * 1000)
    }
}

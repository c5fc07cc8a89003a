import ArgumentParser
import Foundation
import OPECore
import OPEStore

/// `ope-bench events`: how many durable events per second the event log takes.
struct EventsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Durable events per second with group commit, against one transaction per event as the baseline.",
        discussion: "Uses a fresh temporary data dir unless --data is given. Every event is fsynced before it counts."
    )
    @Option(help: "Events to append with group commit.") var count: Int = 200_000
    @Option(help: "Concurrent writers (like rooms appending at once).") var writers: Int = 1000
    @Option(name: .customLong("baseline-count"), help: "Events for the one-transaction-per-event baseline.") var baselineCount: Int = 2_000
    @Option(help: "Data dir (default: a temporary one, removed afterwards).") var data: String?

    func run() async throws {
        let folder = data ?? NSTemporaryDirectory() + "ope-bench-\(UUID().uuidString)"
        defer { if data == nil { try? FileManager.default.removeItem(atPath: folder) } }
        let store = try Store(dataDirectory: folder)
        let payload = ChatPayload(text: "a chat message of ordinary length, about sixty characters", clientId: "c-1")

        // Baseline: each event waits for its own commit before the next is sent.
        let baselineStart = ContinuousClock.now
        for index in 0..<baselineCount {
            _ = try await store.events.append(EventDraft(type: .chatMessage, actor: "bench", session: "s\(index % 100)", payload: payload))
        }
        let baselineRate = Double(baselineCount) / seconds(ContinuousClock.now - baselineStart)

        let perWriter = count / writers
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for _ in 0..<perWriter {
                        _ = try await store.events.append(EventDraft(type: .chatMessage, actor: "bench", session: "s\(writer)", payload: payload))
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = seconds(ContinuousClock.now - start)
        let total = perWriter * writers
        let rate = Double(total) / elapsed
        let stored = try await store.reader.count()
        print("baseline (one commit per event): \(baselineCount) events, \(Int(baselineRate)) events/s")
        print("group commit, \(writers) writers: \(total) events in \(String(format: "%.2f", elapsed)) s, \(Int(rate)) events/s")
        print("ratio: \(String(format: "%.1f", rate / baselineRate))x; events in the log: \(stored)")
    }

    func seconds(_ duration: Duration) -> Double {
        duration.timeInterval
    }
}

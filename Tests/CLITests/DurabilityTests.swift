import Foundation
import OPECore
import OPEStore
import Testing

@Suite struct DurabilityTests {
    /// Acknowledged means on disk: kill -9 right after the acks, reopen, count.
    @Test func acknowledgedEventsSurviveSIGKILL() async throws {
        let data = temporaryFolder("ope-durability")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let count = 3000
        let writer = try OPEProcess.startBench(["debug", "append-events", "--count", "\(count)", "--writers", "60", "--data", data])
        try await writer.waitFor("acked \(count)")
        writer.signal(SIGKILL)
        let status = try await writer.waitForExit()
        #expect(status != 0, "the writer should have died from SIGKILL")

        let reopened = try Store(dataDirectory: data)
        let events = try await reopened.reader.events(EventFilter(session: "durability"), limit: 10_000)
        #expect(events.count == count)
        // Every writer's sequence is complete, not just the total.
        let byWriter = Dictionary(grouping: events, by: { $0.actor ?? "" })
        #expect(byWriter.count == 60)
        #expect(byWriter.values.allSatisfy { $0.count == count / 60 })
    }
}

import Foundation
import OPECluster
import OPECore
import OPERuntime
import OPEStore
import OPETestSupport
import Testing

/// `ope export events --cores …`: every core's log in one export.
@Suite struct ClusterExportTests {
    func team(_ cluster: ClusterRuntime, _ module: String, _ users: [String]) async throws -> String {
        for user in users { _ = try await cluster.join(user: user, module: module, leaving: nil) }
        guard case .matched(let id) = try await cluster.committedStatus(of: users[0]) else { throw WaitFailure("no team in \(module)") }
        return id
    }

    @Test func theMergedExportHoldsEveryCoresEventsInTimeOrderWithTheirCore() async throws {
        try await TestCluster.run { testCluster, cluster in
            // A team on each core, chatting in turns, the clock moving between messages.
            let teams = [
                try await team(cluster, "python-intro", ["alice", "bob"]), try await team(cluster, "sql-joins", ["carol", "dave"]),
            ]
            for round in 0..<5 {
                for (index, team) in teams.enumerated() {
                    testCluster.clock.advance(by: .seconds(1))
                    _ = try await cluster.chat("round \(round)", clientID: "c-\(round)-\(index)", session: team, by: index == 0 ? "alice" : "carol")
                }
            }
            let remotes = cluster.cores.compactMap { $0 as? RemoteRuntime }
            #expect(remotes.count == 2)
            var text = ""
            var fractions: [Double] = []
            try await ClusterExport(cores: remotes, format: .jsonl).run(EventFilter()) { chunk in
                text += chunk
            } progress: { progress in
                fractions.append(progress.fraction)
            }
            let lines = text.split(separator: "\n").map { String($0) }
            let decoder = JSONDecoder()
            let exported = try lines.map { try decoder.decode(ExportedEvent.self, from: Data($0.utf8)) }
            // Everything both logs hold, once.
            var stored = 0
            for index in 0..<2 { stored += try await testCluster.core(index).runtime.store.reader.count() }
            #expect(exported.count == stored)
            #expect(exported.allSatisfy { $0.core == 0 || $0.core == 1 })
            let keys = Set(exported.map { "\($0.core ?? -1)/\($0.id)" })
            #expect(keys.count == exported.count)
            // Time order across cores, log order within each.
            #expect(exported.map(\.time) == exported.map(\.time).sorted())
            for core in [0, 1] {
                let ids = exported.filter { $0.core == core }.map(\.id)
                #expect(ids == ids.sorted())
            }
            for (index, team) in teams.enumerated() {
                let chats = exported.filter { $0.session == team && $0.type == "chat.message" }
                #expect(chats.count == 5)
                #expect(chats.allSatisfy { $0.core == index })
                let texts = chats.compactMap { $0.payload["text"]?.stringValue }
                #expect(texts == (0..<5).map { "round \($0)" })
            }
            #expect(fractions.last == 1)
            // CSV says the core in its first column.
            var csv = ""
            try await ClusterExport(cores: remotes, format: .csv).run(EventFilter(session: teams[1])) { chunk in csv += chunk }
            let rows = csv.split(separator: "\r\n")
            #expect(rows.first == "core,id,time,type,actor,session,payload")
            #expect(rows.dropFirst().allSatisfy { $0.hasPrefix("1,") })

            // What an edge's /api/events/export sends is the same merged record.
            var download = ""
            try await cluster.recordExport(EventFilter(), format: .jsonl).run { download += $0 }
            #expect(download == text)
        }
    }

    @Test func pagingByEventIDAcrossCoresIsRefusedInWordsAndWorksWithinASession() async throws {
        try await TestCluster.run { _, cluster in
            let sql = try await team(cluster, "sql-joins", ["carol", "dave"])
            _ = try await team(cluster, "python-intro", ["alice", "bob"])
            for filter in [EventFilter(afterID: 1), EventFilter(upToID: 9)] {
                do {
                    _ = try await cluster.events(filter, limit: 10)
                    Issue.record("paging by id across cores was answered")
                } catch let error as RuntimeError {
                    #expect(error.kind == .invalid)
                    #expect(error.message.contains("each core numbers its own events"))
                }
                #expect(throws: RuntimeError.self) { _ = try cluster.recordExport(filter, format: .jsonl) }
            }
            // Within one session, ids are one core's: paging works.
            let all = try await cluster.events(EventFilter(session: sql), limit: 100)
            let rest = try await cluster.events(EventFilter(afterID: all[0].id, session: sql), limit: 100)
            #expect(rest.map(\.id) == all.dropFirst().map(\.id))
        }
    }
}

import Foundation
import OPECluster
import OPECore
import OPERuntime
import OPEStore
import OPETestSupport
import Synchronization
import Testing

/// An edge's view of two cores over gRPC on loopback: python-intro's home is core 0, sql-joins's
/// is core 1 (FNV-1a of the ids, modulo 2).
@Suite struct ClusterRuntimeTests {
    /// Forms a pair in `module` through the cluster and returns their session.
    func pair(_ cluster: ClusterRuntime, _ module: String, _ users: [String] = ["alice", "bob"]) async throws -> SessionStateMachine {
        for user in users { _ = try await cluster.join(user: user, module: module, leaving: nil) }
        let status = try await cluster.committedStatus(of: users[0])
        guard case .matched(let id) = status else { throw WaitFailure("\(users) were not matched in \(module): \(status)") }
        return try #require(try await cluster.session(id))
    }

    @Test func teamsLiveOnTheirModulesHomeCoreAndTheirIDsSaySo() async throws {
        try await TestCluster.run { testCluster, cluster in
            #expect(cluster.map.home(ofModule: "python-intro") == 0)
            #expect(cluster.map.home(ofModule: "sql-joins") == 1)
            let python = try await pair(cluster, "python-intro", ["alice", "bob"])
            let sql = try await pair(cluster, "sql-joins", ["carol", "dave"])
            #expect(python.id.hasPrefix("s0-"))
            #expect(sql.id.hasPrefix("s1-"))
            // Each core knows only its own team.
            #expect(await testCluster.core(0).runtime.session(python.id) != nil)
            #expect(await testCluster.core(1).runtime.session(python.id) == nil)
            #expect(await testCluster.core(1).runtime.session(sql.id)?.members.map(\.user) == ["carol", "dave"])
            // Questions about a person or everyone ask every core.
            #expect(try await cluster.currentSession(of: "dave")?.id == sql.id)
            #expect(Set(try await cluster.liveSessions().map(\.id)) == [python.id, sql.id])
            #expect(try await cluster.modules().map(\.id).sorted() == ["python-intro", "spark-wordcount", "sql-joins"])
        }
    }

    @Test func chatIsAcknowledgedByTheTeamsCoreAndReachesTheSubscriber() async throws {
        try await TestCluster.run { testCluster, cluster in
            let seen = Mutex<[Event]>([])
            let subscription = await cluster.subscribe { events in seen.withLock { $0 += events } }
            defer { Task { await subscription.cancel() } }
            let session = try await pair(cluster, "sql-joins", ["carol", "dave"])
            try await cluster.openRoom(session.id)
            let event = try await cluster.chat("hello from an edge", clientID: "c-1", session: session.id, by: "carol")
            #expect(event.session == session.id)
            #expect(event.decode(ChatPayload.self)?.text == "hello from an edge")
            // The same message again (an edge retrying after a lost answer) is the same event.
            let again = try await cluster.chat("hello from an edge", clientID: "c-1", session: session.id, by: "carol")
            #expect(again.id == event.id)
            try await waitUntil("the chat event reaches the edge's subscription") {
                seen.withLock { $0.contains { $0.id == event.id && $0.session == session.id } }
            }
            var history: [Event] = []
            try await cluster.history(session: session.id, after: nil) { history += $0 }
            #expect(history.filter { $0.type == .chatMessage }.map(\.id) == [event.id])
            // The core's own log has it, committed.
            let stored = try await testCluster.core(1).runtime.store.reader.events(EventFilter(session: session.id, types: [.chatMessage]))
            #expect(stored.map(\.id) == [event.id])
        }
    }

    @Test func refusalsCrossTheWireAsTheErrorsTheCoreThrew() async throws {
        try await TestCluster.run { _, cluster in
            await #expect(throws: SessionManager.JoinError.self) { _ = try await cluster.join(user: "alice", module: "no-such-module", leaving: nil) }
            do {
                _ = try await cluster.hint("   ", to: .allLive(module: nil), by: "teacher")
                Issue.record("an empty hint was taken")
            } catch let error as RuntimeError {
                #expect(error.kind == .invalid)
                #expect(error.message.contains("1 to"))
            }
            do {
                _ = try await cluster.chat("hi", clientID: "c", session: "s1-nosuchthing", by: "alice")
                Issue.record("chat in a session that does not exist was taken")
            } catch let error as RuntimeError {
                #expect(error.kind == .notFound || error.kind == .conflict)
            }
            // An id that names no core of this cluster is no session, without asking anyone.
            #expect(try await cluster.session("s7-abcdefghij") == nil)
            let session = try await pair(cluster, "python-intro")
            // One team at a time, across cores: joining sql-joins (core 1) from a python-intro team (core 0).
            do {
                _ = try await cluster.join(user: "alice", module: "sql-joins", leaving: nil)
                Issue.record("alice joined a second team")
            } catch SessionManager.JoinError.inSession(let id, let module) {
                #expect(id == session.id)
                #expect(module == "python-intro")
            }
        }
    }

    @Test func aCoreDownIsUnavailableForItsTeamsAndTheOtherCoresTeamsGoOn() async throws {
        try await TestCluster.run { testCluster, cluster in
            let python = try await pair(cluster, "python-intro", ["alice", "bob"])
            let sql = try await pair(cluster, "sql-joins", ["carol", "dave"])
            await testCluster.core(1).stop()
            do {
                _ = try await cluster.chat("anyone?", clientID: "c-9", session: sql.id, by: "carol")
                Issue.record("a chat to a stopped core was acknowledged")
            } catch let error as RuntimeError {
                guard case .unavailable(let seconds) = error.kind else {
                    Issue.record("expected unavailable, got \(error.kind)")
                    return
                }
                #expect(seconds > 0)
                #expect(error.message.contains("not answering") || error.message.contains("could not be reached"))
            }
            // Core 0's team does not notice.
            let event = try await cluster.chat("still here", clientID: "c-2", session: python.id, by: "alice")
            #expect(event.session == python.id)
            // Back on the same data dir: the team is there again.
            try await testCluster.restart(1)
            try await waitUntil("core 1 answers again") { (try? await cluster.session(sql.id)) != nil }
            #expect(try await cluster.session(sql.id)?.members.map(\.user) == ["carol", "dave"])
        }
    }

    @Test func theEventStreamResumesAfterACoreRestartWithoutGapOrRepeat() async throws {
        try await TestCluster.run { testCluster, cluster in
            let session = try await pair(cluster, "sql-joins", ["carol", "dave"])
            let seen = Mutex<[Int64]>([])
            let subscription = await cluster.subscribe { events in seen.withLock { $0 += events.filter { $0.session == session.id }.map(\.id) } }
            defer { Task { await subscription.cancel() } }
            try await cluster.openRoom(session.id)
            let first = try await cluster.chat("one", clientID: "c-1", session: session.id, by: "carol")
            try await waitUntil("the first message arrives") { seen.withLock { $0.contains(first.id) } }
            // The core goes away; what it commits while its server is down (straight to its log)
            // must reach the edge once it is back.
            try await testCluster.restart(1)
            let core = testCluster.core(1)
            let missed = try await core.runtime.chat("two", clientID: "c-2", session: session.id, by: "dave")
            // The edge finds the core again within moments; a client re-sends (same client id) until then.
            let sent = Mutex<Event?>(nil)
            try await waitUntil("the first message after the restart is taken") {
                if let event = try? await cluster.chat("three", clientID: "c-3", session: session.id, by: "carol") { sent.withLock { $0 = event } }
                return sent.withLock { $0 } != nil
            }
            let third = try #require(sent.withLock { $0 })
            try await waitUntil("the messages after the restart arrive") { seen.withLock { $0.contains(third.id) } }
            let ids = seen.withLock { $0 }
            #expect(ids.contains(missed.id))
            #expect(ids == ids.sorted())
            #expect(Set(ids).count == ids.count, "an event was delivered twice: \(ids)")
        }
    }

    @Test func aWrongClusterTokenIsRefusedInWords() async throws {
        try await TestCluster.run { testCluster, _ in
            let stranger = try RemoteRuntime(configuration: .init(host: "127.0.0.1", port: testCluster.core(0).port, token: "wrong", deadline: .seconds(60)))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await stranger.run() }
                defer { stranger.beginGracefulShutdown() }
                do {
                    _ = try await stranger.modules()
                    Issue.record("a call with the wrong token was answered")
                } catch let error as RuntimeError {
                    #expect(error.message.contains("refused this edge"))
                }
            }
        }
    }
}

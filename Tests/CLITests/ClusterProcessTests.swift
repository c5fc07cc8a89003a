import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import OPECore
import OPETestSupport
import Synchronization
import Testing

/// A team-room socket to a server running as another process, its messages kept to wait on.
final class RoomSocket: Sendable {
    /// The frames received, as text (parsed when looked at).
    private let texts = Mutex<[String]>([])
    private let outgoing: AsyncStream<String>.Continuation
    private let stream: AsyncStream<String>

    init(url: String, cookie: String) {
        (stream, outgoing) = AsyncStream.makeStream()
        Task { await self.run(url: url, cookie: cookie) }
    }

    private func run(url: String, cookie: String) async {
        var configuration = WebSocketClientConfiguration()
        configuration.additionalHeaders = [.cookie: cookie]
        let stream = self.stream
        _ = try? await WebSocketClient.connect(url: url, configuration: configuration, logger: Logger(label: "test")) { inbound, outbound, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        self.texts.withLock { $0.append(text) }
                    }
                }
                group.addTask {
                    for await text in stream { try await outbound.write(.text(text)) }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    var messages: [[String: Any]] {
        texts.withLock { $0 }.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func chat(_ text: String, clientId: String) {
        outgoing.yield(#"{"type":"chat","text":"\#(text)","clientId":"\#(clientId)"}"#)
    }

    func typing(_ active: Bool) {
        outgoing.yield(#"{"type":"typing","active":\#(active)}"#)
    }

    func close() { outgoing.finish() }

    /// Waits for a message matching `predicate` (the bound only ends a wait for what is not coming).
    @discardableResult
    func waitFor(_ what: String, timeout: Duration = .seconds(90), _ predicate: @escaping @Sendable ([String: Any]) -> Bool) async throws -> [String: Any] {
        do {
            try await waitUntil(what, timeout: timeout) { self.messages.contains(where: predicate) }
        } catch {
            throw ProcessFailure("no \(what) within \(timeout); received:\n\(texts.withLock { $0 }.joined(separator: "\n"))")
        }
        return messages.first(where: predicate) ?? [:]
    }

    func all(_ predicate: ([String: Any]) -> Bool) -> [[String: Any]] { messages.filter(predicate) }
}

/// Two cores and two edges as separate `ope serve` processes on loopback: issue #16's failures.
@Suite(.serialized) struct ClusterProcessTests {
    struct Cluster {
        var folder: String
        var tokenFile: String
        var corePorts: [Int]
        var clusterPorts: [Int]
        var edgePorts: [Int]
        /// The virtualenv of the cores' JupyterLab workspaces; none without it (`--workspaces none`).
        var venv: String? = nil
        /// Each edge's workspace origin (`--workspace-port`), when the cores run workspaces.
        var workspacePorts: [Int] = []
        var cores: [RunningProcess] = []
        var edges: [RunningProcess] = []

        func coreArguments(_ index: Int) -> [String] {
            [
                "serve", "--role", "core", "--shard", "\(index)", "--shards", "2", "--port", "\(corePorts[index])", "--cluster-port", "\(clusterPorts[index])",
                "--data", folder + "/core\(index)", "--modules", CLICommandTests.examples, "--cluster-token-file", tokenFile,
            ] + (venv.map { ["--workspaces", "local", "--venv", $0] } ?? ["--workspaces", "none"])
        }

        func edgeArguments(_ index: Int) -> [String] {
            [
                "serve", "--role", "edge", "--port", "\(edgePorts[index])", "--cluster-token-file", tokenFile, "--cores",
                clusterPorts.map { "127.0.0.1:\($0)" }.joined(separator: ","),
            ] + (venv == nil ? ["--workspaces", "none"] : ["--workspaces", "local", "--workspace-port", "\(workspacePorts[index])"])
        }

        func edge(_ index: Int) -> String { "http://127.0.0.1:\(edgePorts[index])" }
        /// Edge `index`'s workspace origin, where its `/w/{id}/` proxy serves.
        func workspaceOrigin(_ index: Int) -> String { "http://127.0.0.1:\(workspacePorts[index])" }
        func room(_ index: Int, _ session: String, after: Int? = nil) -> String {
            "ws://127.0.0.1:\(edgePorts[index])/api/sessions/\(session)/ws" + (after.map { "?after=\($0)" } ?? "")
        }

        mutating func startCore(_ index: Int) async throws {
            let core = try OPEProcess.start(coreArguments(index))
            try await core.waitFor("OPE core \(index) of 2 is running")
            if cores.count > index { cores[index] = core } else { cores.append(core) }
        }

        mutating func startEdge(_ index: Int) async throws {
            let edge = try OPEProcess.start(edgeArguments(index))
            try await edge.waitFor("OPE edge is running")
            if edges.count > index { edges[index] = edge } else { edges.append(edge) }
        }
    }

    /// Two cores and two edges; with `venv`, the cores run JupyterLab workspaces from it and the
    /// edges proxy them, each on a workspace origin of its own.
    static func makeCluster(venv: String? = nil) async throws -> Cluster {
        let folder = temporaryFolder("ope-cluster")
        let tokenFile = folder + "/cluster-token"
        try "cluster-test-token-\(UUID().uuidString)".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        var cluster = Cluster(
            folder: folder, tokenFile: tokenFile, corePorts: [try LoopbackPort.free(), try LoopbackPort.free()],
            clusterPorts: [try LoopbackPort.free(), try LoopbackPort.free()],
            edgePorts: [try LoopbackPort.free(), try LoopbackPort.free()], venv: venv,
            workspacePorts: venv == nil ? [] : [try LoopbackPort.free(), try LoopbackPort.free()])
        // Accounts live on core 0.
        for (name, role) in [("alice", "participant"), ("bob", "participant"), ("carol", "participant"), ("dave", "participant"), ("teacher", "instructor")] {
            let added = try await OPEProcess.run(["user", "add", name, "--password", "password-\(name)", "--role", role, "--data", folder + "/core0"])
            #expect(added.status == 0, "\(added.stderr)")
        }
        try await cluster.startCore(0)
        try await cluster.startCore(1)
        try await cluster.startEdge(0)
        try await cluster.startEdge(1)
        return cluster
    }

    @Test func aTeamAcrossTwoEdgesSurvivesAnEdgeAndItsCoreBeingKilled() async throws {
        var cluster = try await Self.makeCluster()
        defer {
            for process in cluster.cores + cluster.edges where process.process.isRunning { process.signal(SIGKILL) }
            try? FileManager.default.removeItem(atPath: cluster.folder)
        }
        // alice through edge A, bob through edge B: one team in python-intro (its home is core 0).
        var alice = try await HTTPUser.signIn("alice", password: "password-alice", base: cluster.edge(0))
        let bob = try await HTTPUser.signIn("bob", password: "password-bob", base: cluster.edge(1))
        _ = try await alice.call("POST", "/api/lobby/join", json: ["module": "python-intro"])
        let matched = try await bob.call("POST", "/api/lobby/join", json: ["module": "python-intro"])
        let session = try #require(matched.body["session"] as? String)
        #expect(session.hasPrefix("s0-"))
        // Any edge takes any member's cookie.
        #expect(
            try await HTTPUser(base: cluster.edge(1), cookie: alice.cookie, csrf: alice.csrf).call("GET", "/api/lobby").body["session"] as? String == session)
        // carol and dave in sql-joins: a team on core 1.
        let carol = try await HTTPUser.signIn("carol", password: "password-carol", base: cluster.edge(1))
        let dave = try await HTTPUser.signIn("dave", password: "password-dave", base: cluster.edge(0))
        _ = try await carol.call("POST", "/api/lobby/join", json: ["module": "sql-joins"])
        let other = try #require(try await dave.call("POST", "/api/lobby/join", json: ["module": "sql-joins"]).body["session"] as? String)
        #expect(other.hasPrefix("s1-"))

        let aliceRoom = RoomSocket(url: cluster.room(0, session), cookie: alice.cookie)
        let bobRoom = RoomSocket(url: cluster.room(1, session), cookie: bob.cookie)
        try await aliceRoom.waitFor("alice's room in sync") { $0["type"] as? String == "synced" }
        try await bobRoom.waitFor("bob's room in sync") { $0["type"] as? String == "synced" }
        // The plan bot greets the pair once both are in: the same words through both edges.
        let greeting = try await bobRoom.waitFor("the bot's greeting") { $0["type"] as? String == "bot" || ($0["from"] as? String) == "OPE_Bot" }
        let greetingID = greeting["id"] as? Int
        try await aliceRoom.waitFor("the bot's greeting at alice's edge") { ($0["id"] as? Int) == greetingID }
        aliceRoom.chat("hello bob, from edge A", clientId: "a-1")
        let ack = try await aliceRoom.waitFor("alice's ack") { $0["type"] as? String == "ack" && $0["clientId"] as? String == "a-1" }
        try await bobRoom.waitFor("alice's message at bob's edge") { $0["type"] as? String == "chat" && $0["clientId"] as? String == "a-1" }
        // Typing is not an event, and still crosses from edge A to edge B (through the core's room stream).
        aliceRoom.typing(true)
        try await bobRoom.waitFor("alice typing, at bob's edge") { $0["type"] as? String == "typing" && $0["user"] as? String == "alice" }
        // The instructor rotates the roles from edge B; both rooms hear it.
        let teacher = try await HTTPUser.signIn("teacher", password: "password-teacher", base: cluster.edge(1))
        let rotated = try await teacher.call("POST", "/api/sessions/\(session)/rotate")
        #expect(rotated.status == 200, "\(rotated.body)")
        try await aliceRoom.waitFor("the rotation at alice's edge") { $0["type"] as? String == "roles" && ($0["reason"] as? String) == "rotate" }
        try await bobRoom.waitFor("the rotation at bob's edge") { $0["type"] as? String == "roles" && ($0["reason"] as? String) == "rotate" }

        // kill -9 edge A: alice comes back through edge B with the last id she saw and misses nothing.
        let lastSeen = aliceRoom.messages.compactMap { $0["id"] as? Int }.max() ?? 0
        cluster.edges[0].signal(SIGKILL)
        _ = try await cluster.edges[0].waitForExit()
        bobRoom.chat("alice, are you there?", clientId: "b-1")
        try await bobRoom.waitFor("bob's ack") { $0["type"] as? String == "ack" && $0["clientId"] as? String == "b-1" }
        let aliceAgain = RoomSocket(url: cluster.room(1, session, after: lastSeen), cookie: alice.cookie)
        try await aliceAgain.waitFor("bob's message, replayed to alice through edge B") { $0["clientId"] as? String == "b-1" }
        #expect(aliceAgain.all { ($0["id"] as? Int).map { $0 <= lastSeen } ?? false }.isEmpty, "alice was sent what she had already seen")
        alice = HTTPUser(base: cluster.edge(1), cookie: alice.cookie, csrf: alice.csrf)

        // Dave's room on edge B, opened while core 0 (where sign-ins live) can still check him.
        let daveRoom = RoomSocket(url: cluster.room(1, other), cookie: dave.cookie)
        try await daveRoom.waitFor("dave's room in sync") { $0["type"] as? String == "synced" }

        // kill -9 the team's core: edges answer its team 503 with Retry-After; core 1's team goes on.
        let botLinesBefore = bobRoom.all { ($0["from"] as? String) == "OPE_Bot" }.count
        cluster.cores[0].signal(SIGKILL)
        _ = try await cluster.cores[0].waitForExit()
        let refused = try await alice.call("GET", "/api/sessions/\(session)")
        #expect(refused.status == 503, "\(refused.body)")
        #expect((refused.body["error"] as? String)?.contains("try again") == true)
        let carolRoom = RoomSocket(url: cluster.room(1, other), cookie: carol.cookie)
        try await carolRoom.waitFor("carol's room in sync") { $0["type"] as? String == "synced" }
        carolRoom.chat("core 1 still works", clientId: "c-1")
        try await carolRoom.waitFor("carol's ack while core 0 is down") { $0["type"] as? String == "ack" && $0["clientId"] as? String == "c-1" }
        // Edge B holds every event of bob's room, and each core numbers its log from 1: core 1's
        // next events take ids that core 0's events in bob's room have. Carol and dave (whose
        // socket is on edge B too) send nine messages each, as many as a socket may send at once.
        let more = (1...9).flatMap { ["c-more-\($0)", "d-more-\($0)"] }
        for clientId in more { (clientId.hasPrefix("c") ? carolRoom : daveRoom).chat("core 1 message", clientId: clientId) }
        for clientId in more {
            try await carolRoom.waitFor("\(clientId), as itself in carol's room") { $0["type"] as? String == "chat" && $0["clientId"] as? String == clientId }
        }
        let strays = carolRoom.all { message in ["alice", "bob", "OPE_Bot"].contains { "\(message)".contains($0) } }
        #expect(strays.isEmpty, "carol's room on core 1 was sent events of bob's room on core 0: \(strays)")
        // The check means something only if the two cores' ids met.
        let core1IDs = Set(carolRoom.all { ($0["clientId"] as? String).map(more.contains) ?? false }.compactMap { $0["id"] as? Int })
        #expect(!core1IDs.isDisjoint(with: bobRoom.messages.compactMap { $0["id"] as? Int }), "core 1's ids never met those of bob's room")

        // Back on the same data dir: the team resumes, every acknowledged message is there, the bot does not start over.
        try await cluster.startCore(0)
        let aliceOnB = alice
        try await waitUntil("edge B answers for core 0's team again") { try await aliceOnB.call("GET", "/api/sessions/\(session)").status == 200 }
        let resumed = RoomSocket(url: cluster.room(1, session), cookie: alice.cookie)
        try await resumed.waitFor("the history after the restart") { $0["type"] as? String == "synced" }
        for clientId in ["a-1", "b-1"] {
            #expect(!resumed.all { $0["clientId"] as? String == clientId && $0["type"] as? String == "chat" }.isEmpty, "acknowledged message \(clientId) lost")
        }
        #expect(resumed.all { ($0["id"] as? Int) == (ack["id"] as? Int) }.count == 1)
        resumed.chat("after the restart", clientId: "a-2")
        try await resumed.waitFor("an ack after the restart") { $0["type"] as? String == "ack" && $0["clientId"] as? String == "a-2" }
        let greetings = resumed.all { ($0["from"] as? String) == "OPE_Bot" && ($0["text"] as? String)?.hasPrefix("Hi ") == true }
        #expect(greetings.count == 1, "the bot greeted the team again after its core restarted: \(greetings)")
        #expect(botLinesBefore >= 1)
        for socket in [aliceRoom, bobRoom, aliceAgain, carolRoom, daveRoom, resumed] { socket.close() }
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OPECore
import OPEStore
import OPETestSupport
import OPEWorkspaces
import Testing

/// The escape suite: participant code, run through the proxy in a team's kernel as a student's
/// notebook would, tries every way out a security probe of OPE used. Each must fail safely; the
/// server stays healthy, another team keeps chatting, and the team is told what happened.
@Suite(.serialized) struct ContainmentTests {
    /// A module for one-person teams with small limits, so the limits are quick to reach.
    static func fixture() throws -> String {
        let folder = NSTemporaryDirectory() + "ope-escape-\(UUID().uuidString)"
        let module = folder + "/escape"
        try FileManager.default.createDirectory(atPath: module + "/tests", withIntermediateDirectories: true)
        try "answer = 42\n".write(toFile: module + "/work.py", atomically: true, encoding: .utf8)
        try "def test_secret():\n    assert 'the hidden expected answer'\n".write(toFile: module + "/tests/test_secret.py", atomically: true, encoding: .utf8)
        try """
        id: escape
        title: Escape
        kit: python
        group: {min: 1, target: 1, max: 1}
        limits: {memory: 512MiB, processes: 128, cpus: 0.5, disk: 64MiB}
        tasks:
          - id: only
            title: Only
            instructions: Try to get out.
            starter: [work.py]
            test:
              files: [tests/test_secret.py]
              command: python -m pytest -q tests
              timeout: 60s
        """.write(toFile: module + "/module.yaml", atomically: true, encoding: .utf8)
        return folder
    }

    /// Waits for a `workspace.limit` event of `limit` in `session`.
    func waitForLimit(_ store: Store, session: String, _ limit: String, after: Int64) async throws -> Event {
        @Sendable func told() async throws -> Event? {
            try await store.reader.events(EventFilter(afterID: after, session: session, types: [.workspaceLimit]))
                .first { $0.payload["limit"]?.stringValue == limit }
        }
        try await waitUntil("the team of \(session) told about its \(limit) limit") { try await told() != nil }
        return try #require(try await told())
    }

    /// Chat round trips of another team while something else goes on: every message must be
    /// acknowledged (generously bounded); the figures are printed, not asserted (a latency bound
    /// belongs in a benchmark, not in a test a busy machine could fail).
    func chatLatencies(_ room: RoomClient, count: Int, label: String, clock: ManualClock) async throws -> [Double] {
        var latencies: [Double] = []
        for index in 0..<count {
            let id = "\(label)-\(index)"
            let sent = ContinuousClock.now
            try room.send(["type": "chat", "text": "still here \(index)", "clientId": id])
            _ = try await room.inbox.waitFor("ack \(id)", timeout: .seconds(30)) { $0["type"] as? String == "ack" && $0["clientId"] as? String == id }
            let elapsed = ContinuousClock.now - sent
            latencies.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            clock.advance(by: .seconds(1))  // the room's chat rate limit runs on the server's clock
        }
        let sorted = latencies.sorted()
        print("[containment] other team's chat ack \(label): median \(Int(sorted[sorted.count / 2])) ms, max \(Int(sorted.last!)) ms (n=\(count))")
        return latencies
    }

    @Test func participantCodeCannotLeaveItsSandboxAndLimitsHold() async throws {
        let modules = try Self.fixture()
        defer { try? FileManager.default.removeItem(atPath: modules) }
        // A variable of the server's environment (an LLM key would be one) must not reach the
        // sandbox. One this process already has: setting one here would race every other test's
        // Process.run(), which copies the environment (a crash in memcpy when they met).
        let secret = try #require(
            ["OPE_TOOLS_VENV", "OPE_BIN", "OPE_VENV", "LOGNAME", "USER"].first { ProcessInfo.processInfo.environment[$0] != nil },
            "no variable in this process's environment to check with")
        let clock = ManualClock()
        try await TestGateway.runWithWorkspaces(moduleFolders: [modules], clock: clock) { client, store, gateway in
            let port = try #require(client.port)
            let alice = try await client.login("alice")
            let carol = try await client.login("carol")
            let teacher = try await client.login("teacher")
            let teamA = try #require(
                try await client.post("/api/lobby/join", json: ["module": "escape"], headers: alice.writeHeaders).json()["session"] as? String)
            let teamB = try #require(
                try await client.post("/api/lobby/join", json: ["module": "escape"], headers: carol.writeHeaders).json()["session"] as? String)
            #expect(teamA != teamB)
            let startedA = try await WorkspaceTests().waitForEvent(store, session: teamA, .workspaceStarted, timeout: .seconds(120))
            try await WorkspaceTests().waitForEvent(store, session: teamB, .workspaceStarted, timeout: .seconds(120))
            let workspaceB = try await WorkspaceTests().readyWorkspace(gateway, teamB)
            let aliceUser = try #require(try await store.users.find("alice"))
            let token = try await store.tokens.create(for: aliceUser, name: "escape", actor: "test").secret

            // 1. Every way out of the sandbox.
            let probe = try String(contentsOfFile: WorkspaceTests.packageRoot + "/scripts/escape_probe.py", encoding: .utf8)
            #expect(try await client.putText("/w/\(teamA)/api/contents/escape_probe.py", probe, headers: alice.headers).status == .created)
            let targets: [String: Any] = [
                "dataDir": store.dataDirectory, "serverPid": Int(getpid()), "serverPort": port, "otherTeamDir": workspaceB.directory,
                "otherSocket": workspaceB.socketPath ?? "", "otherToken": workspaceB.token, "hiddenTest": modules + "/escape/tests/test_secret.py",
                "secretVariable": secret, "outboundHost": "127.0.0.1", "outboundPort": port,
            ]
            let targetsJSON = String(decoding: try JSONSerialization.data(withJSONObject: targets), as: UTF8.self)
            let code =
                "import json\nPROBE_TARGETS = json.loads(\(String(decoding: try JSONSerialization.data(withJSONObject: [targetsJSON]), as: UTF8.self))[0])\nexec(open('escape_probe.py').read())"
            let probed = try await KernelRun.run(code, in: teamA, port: port, token: token)
            let report = try #require(
                (probed["stdout"] as? String).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: [String: Any]] },
                "the probe printed no report: \(probed)"
            )
            #expect(report.count >= 13, "the probe ran only \(report.keys.sorted())")
            for (name, outcome) in report.sorted(by: { $0.key < $1.key }) {
                #expect(outcome["blocked"] as? Bool == true, "ESCAPED — \(name): \(outcome["saw"] ?? "")")
                print("[containment] \(name): \(outcome["saw"] ?? "")")
            }
            #expect(!FileManager.default.fileExists(atPath: workspaceB.directory + "/owned-by-other-team.txt"))

            // Team B chats while team A runs into its limits.
            let roomB = RoomClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await roomB.run(client, path: "/api/sessions/\(teamB)/ws", cookie: carol.cookie) }
                _ = try await roomB.inbox.waitFor(type: "synced", timeout: .seconds(30))
                _ = try await chatLatencies(roomB, count: 5, label: "quiet", clock: clock)

                // 2. A fork bomb, left running in the background.
                let bomb =
                    "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'import os\\nwhile True:\\n    try:\\n        os.fork()\\n    except OSError:\\n        pass'], start_new_session=True)\nprint('started')"
                #expect(try await KernelRun.run(bomb, in: teamA, port: port, token: token)["stdout"] as? String == "started\n")
                let processes = try await waitForLimit(store, session: teamA, "processes", after: startedA.id)
                #expect(processes.payload["message"]?.stringValue?.contains("128") == true)
                _ = try await chatLatencies(roomB, count: 5, label: "during the fork bomb", clock: clock)
                #expect(try await client.get("/healthz").status == .ok)
                // An instructor restarts the team's workspace: the bomb goes with the old sandbox.
                #expect(
                    try await client.execute(uri: "/api/sessions/\(teamA)/workspace/restart", method: .post, headers: teacher.writeHeaders).status == .accepted)
                let restarted = try await WorkspaceTests().waitForEvent(store, session: teamA, .workspaceStarted, after: processes.id, timeout: .seconds(120))
                #expect(
                    WorkspaceProcesses.pids(of: teamA).count < 20, "the fork bomb outlived the restart: \(WorkspaceProcesses.pids(of: teamA).count) processes")

                // 3. Memory past the limit: the kernel is stopped, the team is told, nobody else notices.
                let hog = "chunks = []\nwhile True:\n    chunks.append(bytearray(32 << 20))"
                let hogged = try await KernelRun.run(hog, in: teamA, port: port, token: token)
                #expect(hogged["status"] as? String == "died", "the memory hog was not stopped: \(hogged)")
                let memory = try await waitForLimit(store, session: teamA, "memory", after: restarted.id)
                #expect(memory.payload["message"]?.stringValue?.contains("512 MiB") == true)
                _ = try await chatLatencies(roomB, count: 3, label: "after the memory hog", clock: clock)

                // 4. The disk past the quota: the write fails, the team is told, the folder recovers.
                let fill =
                    "try:\n    with open('big.bin', 'wb') as f:\n        while True:\n            f.write(b'0' * (4 << 20))\n            f.flush()\nexcept OSError as error:\n    print(error.errno)"
                let filled = try await KernelRun.run(fill, in: teamA, port: port, token: token)
                #expect(["28\n", "122\n"].contains(filled["stdout"] as? String ?? ""), "writing past the quota did not fail with ENOSPC: \(filled)")
                _ = try await waitForLimit(store, session: teamA, "disk", after: restarted.id)
                #expect(
                    try await KernelRun.run("import os\nos.remove('big.bin')\nprint('freed')", in: teamA, port: port, token: token)["stdout"] as? String
                        == "freed\n")

                // 5. A background process does not outlive the session.
                let marker = 700 + Int.random(in: 1...299)
                let spawn = "import subprocess\nsubprocess.Popen(['sleep', '\(marker)'], start_new_session=True)\nprint('spawned')"
                #expect(try await KernelRun.run(spawn, in: teamA, port: port, token: token)["stdout"] as? String == "spawned\n")
                #expect(try await client.execute(uri: "/api/sessions/\(teamA)/end", method: .post, headers: teacher.writeHeaders).status == .ok)
                let pgrep = ["pgrep", "-f", "sleep \(marker)"]
                try? await waitUntil("the participant's process gone") { try await CommandRunner().run(pgrep, timeout: .seconds(5)).status == 1 }
                let left = try await CommandRunner().run(pgrep, timeout: .seconds(5))
                #expect(left.status == 1, "a participant's process outlived the session: \(left.output)")
                _ = try await chatLatencies(roomB, count: 3, label: "at the end", clock: clock)
                roomB.close()
                try await group.waitForAll()
            }
        }
    }

    /// A bot plan's `run` step works in the team's folder, which the team controls: it runs in the
    /// team's sandbox, as the team's account, never as the server.
    @Test func aBotsRunStepRunsInTheTeamsSandbox() async throws {
        let folder = NSTemporaryDirectory() + "ope-botrun-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/botrun/bot", withIntermediateDirectories: true)
        try "x = 1\n".write(toFile: folder + "/botrun/work.py", atomically: true, encoding: .utf8)
        try """
        name: runner
        bot: OPE_Bot
        launch: {members: all, timeout: 1m}
        stages:
          - name: only
            steps:
              - run: "id -u; ls /proc | grep -c '^[0-9]'; echo from-the-bot > bot-wrote.txt; ls \(folder) 2>&1 | head -1"
        """.write(toFile: folder + "/botrun/bot/plan.yaml", atomically: true, encoding: .utf8)
        try """
        id: botrun
        title: Bot run
        kit: python
        group: {min: 1, target: 1, max: 1}
        plan: bot/plan.yaml
        tasks:
          - id: only
            title: Only
            instructions: Wait.
            starter: [work.py]
        """.write(toFile: folder + "/botrun/module.yaml", atomically: true, encoding: .utf8)
        let clock = ManualClock()
        try await TestGateway.runWithWorkspaces(moduleFolders: [folder], clock: clock) { client, store, gateway in
            let alice = try await client.login("alice")
            let session = try #require(
                try await client.post("/api/lobby/join", json: ["module": "botrun"], headers: alice.writeHeaders).json()["session"] as? String)
            try await WorkspaceTests().waitForEvent(store, session: session, .workspaceStarted, timeout: .seconds(120))
            let workspace = try await WorkspaceTests().readyWorkspace(gateway, session)
            let room = RoomClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await room.run(client, path: "/api/sessions/\(session)/ws", cookie: alice.cookie) }
                // The plan runs on the server's clock: move it on until the bot has run its step.
                try await clock.advance(by: .milliseconds(500), until: "the bot's run step") {
                    try await !store.reader.events(EventFilter(session: session, types: [.botRun])).isEmpty
                }
                let ran = try await WorkspaceTests().waitForEvent(store, session: session, .botRun)
                room.close()
                try await group.waitForAll()
                let lines = (ran.payload["output"]?.stringValue ?? "").split(separator: "\n").map(String.init)
                #expect(ran.payload["status"] == .number(0), "\(ran.payload)")
                let owner = try #require(try FileManager.default.attributesOfItem(atPath: workspace.directory)[.ownerAccountID] as? NSNumber)
                #expect(lines.first == "\(owner)", "the bot's command ran as \(lines.first ?? "?"), the team's folder belongs to \(owner)")
                #expect(lines.first != "0", "the bot's command ran as root")
                #expect((Int(lines.dropFirst().first ?? "") ?? 99) < 20, "the bot's command sees the machine's processes")
                #expect(lines.last?.contains("No such file or directory") == true, "the bot's command sees the host's folders: \(lines)")
                let wrote = try FileManager.default.attributesOfItem(atPath: workspace.directory + "/bot-wrote.txt")
                #expect((wrote[.ownerAccountID] as? NSNumber) == owner, "what the bot wrote is not the team's")
            }
        }
    }
}

import Foundation
import OPECore
import OPEStore
import Testing

/// The session replay in real Chromium (`scripts/e2e_replay.py`, selenium from the venv) against
/// a real `ope serve` whose log holds two finished sessions: a small one with chat, a role change,
/// edits, a run with output, two snapshots and a test run, and one with 5,000 events. Screenshots
/// go to `.build/e2e-artifacts/replay/`.
@Suite struct ReplayBrowserTests {
    @Test(.timeLimit(.minutes(5))) func theReplayPlaysASessionBackInChromium() async throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            try #require(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is missing: run scripts/install-deps.sh (make test does)")
        }
        let venv = ProcessInfo.processInfo.environment["OPE_VENV"] ?? BrowserJourneyTests.repository + "/.venv"
        try #require(FileManager.default.isExecutableFile(atPath: venv + "/bin/python"), "no virtualenv at \(venv): run scripts/setup-venv.sh (make test does)")
        let data = temporaryFolder("ope-replay-browser")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let artifacts = BrowserJourneyTests.repository + "/.build/e2e-artifacts/replay"
        try? FileManager.default.removeItem(atPath: artifacts)
        let start = Date().addingTimeInterval(-3600)
        try await Self.seed(data: data, start: start)

        let port = try LoopbackPort.free()
        let server = try OPEProcess.start([
            "serve", "--port", "\(port)", "--data", data, "--workspaces", "none", "--modules", BrowserJourneyTests.repository + "/examples/modules",
        ])
        defer { server.signal(SIGTERM) }
        try await server.waitFor("OPE is running at http://127.0.0.1:\(port)")
        let run = try await OPEProcess.runProgram(
            venv + "/bin/python",
            [
                BrowserJourneyTests.repository + "/scripts/e2e_replay.py", "--base-url", "http://127.0.0.1:\(port)", "--credentials",
                data + "/initial-credentials.txt", "--artifacts", artifacts, "--session", "s-replay", "--big-session", "s-big",
            ],
            timeout: .seconds(240)
        )
        let summary = run.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(run.status == 0, "the replay journey failed: \(summary)\n\(run.stdout)\n\(run.stderr.suffix(3000))")
        #expect(summary.contains("\"ok\": true"))
        print("replay in Chromium: \(summary)")
    }

    /// The two sessions, written into the data dir's log before the server starts.
    static func seed(data: String, start: Date) async throws {
        let store = try Store(dataDirectory: data)
        func draft(_ session: String, _ seconds: TimeInterval, _ type: EventType, _ actor: String, _ payload: some EventPayload) -> EventDraft {
            EventDraft(time: start.addingTimeInterval(seconds), type: type, actor: actor, session: session, payload: payload)
        }
        func formed(_ session: String) -> EventDraft {
            draft(
                session, 0, .sessionFormed, "system",
                SessionFormedPayload(
                    module: "python-intro", members: ["alice", "bob"], roles: ["alice": "driver", "bob": "navigator"], roleOrder: ["driver", "navigator"],
                    lateJoinRole: "navigator"))
        }
        let session = "s-replay"
        _ = try await store.events.append(contentsOf: [
            formed(session),
            draft(session, 3, .botMessage, "bot", BotMessagePayload(text: "Welcome, team!", name: "OPE_Bot", prompt: "welcome")),
            draft(session, 5, .chatMessage, "alice", ChatPayload(text: "<b>not bold</b> let's go", clientId: nil)),
            draft(session, 10, .workspaceEdited, "alice", EditedPayload(updates: 3, document: "text_stats.ipynb", bytes: 80, role: "driver")),
            draft(
                session, 20, .workspaceSnapshot, "system",
                SnapshotPayload(document: "text_stats.ipynb", cells: [.init(id: "c1", type: "code", source: "words = 'first version'")], hash: "h1")),
            draft(
                session, 30, .workspaceExecuted, "alice",
                ExecutedPayload(
                    document: "text_stats.ipynb", code: "print(len(words))", outcome: "ok", output: "13\n", executionCount: 1, durationMs: 12, role: "driver")),
            draft(session, 40, .workspaceEdited, "alice", EditedPayload(updates: 5, document: "text_stats.ipynb", bytes: 150, role: "driver")),
            draft(
                session, 50, .workspaceSnapshot, "system",
                SnapshotPayload(
                    document: "text_stats.ipynb",
                    cells: [.init(id: "c1", type: "code", source: "words = 'second version'", executionCount: 1, output: "14\n")], hash: "h2")),
            draft(session, 60, .roleChanged, "system", RolesPayload(roles: ["alice": "navigator", "bob": "driver"], reason: "rotate", rotation: 1)),
            draft(session, 70, .chatMessage, "bob", ChatPayload(text: "my turn to drive", clientId: nil)),
            draft(
                session, 80, .workspaceExecuted, "bob",
                ExecutedPayload(code: "1/0", outcome: "error", errorName: "ZeroDivisionError", errorValue: "division by zero", role: "driver")),
            draft(session, 90, .testResult, "bob", TestResultPayload(task: "text-stats", passed: true, durationMs: 900, output: "2 passed")),
            draft(session, 120, .sessionPhaseChanged, "system", PhaseChangedPayload(phase: .completed)),
        ])
        // The bad case: 5,000 events in 25 minutes.
        var big = [formed("s-big")]
        for index in 0..<5000 {
            let seconds = 1 + Double(index) * 0.3
            let member = index % 2 == 0 ? "alice" : "bob"
            switch index % 5 {
            case 0: big.append(draft("s-big", seconds, .chatMessage, member, ChatPayload(text: "message \(index)", clientId: nil)))
            case 1, 2: big.append(draft("s-big", seconds, .workspaceEdited, member, EditedPayload(updates: 2, document: "text_stats.ipynb", bytes: 40)))
            case 3:
                big.append(draft("s-big", seconds, .workspaceExecuted, member, ExecutedPayload(code: "print(\(index))", outcome: "ok", output: "\(index)\n")))
            default:
                let cells = (0..<10).map { SnapshotPayload.Cell(id: "c\($0)", type: "code", source: "x = \(index) + \($0)\nprint(x)") }
                big.append(
                    draft("s-big", seconds, .workspaceSnapshot, "system", SnapshotPayload(document: "text_stats.ipynb", cells: cells, hash: "h\(index)")))
            }
        }
        big.append(draft("s-big", 1600, .sessionPhaseChanged, "system", PhaseChangedPayload(phase: .completed)))
        _ = try await store.events.append(contentsOf: big)
    }
}

/// `ope export contributions` over a data dir's log, as a researcher runs it.
@Suite struct ContributionsExportCommandTests {
    @Test func theExportWritesARowPerSessionAndMember() async throws {
        let data = temporaryFolder("ope-contributions")
        defer { try? FileManager.default.removeItem(atPath: data) }
        try await ReplayBrowserTests.seed(data: data, start: Date(timeIntervalSince1970: 1_800_000_000))
        let csv = try await OPEProcess.run(["export", "contributions", "--data", data])
        #expect(csv.status == 0, "\(csv.stderr)")
        let rows = csv.stdout.split(separator: "\n").map(String.init)
        #expect(
            rows.first
                == "session,module,group,condition,member,seconds_driver,seconds_navigator,edits,edit_updates,edit_bytes,executions,execution_errors,chat_messages,test_runs,tests_passed"
        )
        #expect(rows.contains("s-replay,python-intro,,,alice,60,60,2,8,230,1,0,1,0,0"))
        #expect(rows.contains("s-replay,python-intro,,,bob,60,60,0,0,0,1,1,1,1,1"))
        #expect(rows.count == 5)
        let lines = try await OPEProcess.run(["export", "contributions", "--data", data, "--format", "jsonl", "--session", "s-big"])
        #expect(lines.status == 0, "\(lines.stderr)")
        let members = lines.stdout.split(separator: "\n")
        #expect(members.count == 2)
        #expect(members.first?.contains("\"chatMessages\":500") == true)
    }
}

import Foundation
import OPECore
import OPERuntime
import Testing

/// The replay's timeline and notebook reconstruction, and the contribution figures, as pure
/// functions of a session's events.
@Suite struct ReplayTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// A session's record, built in order: each event `seconds` after the start.
    struct Record {
        var events: [Event] = []

        mutating func add(_ seconds: TimeInterval, _ type: EventType, _ actor: String?, _ payload: some EventPayload) {
            let draft = EventDraft(time: ReplayTests.start.addingTimeInterval(seconds), type: type, actor: actor, session: "s-1", payload: payload)
            events.append(draft.committed(id: Int64(events.count + 1)))
        }
    }

    static func cell(_ source: String, output: String? = nil) -> SnapshotPayload.Cell {
        SnapshotPayload.Cell(id: nil, type: "code", source: source, executionCount: output == nil ? nil : 1, output: output)
    }

    /// alice drives, then bob; chat, edits, a run with output, snapshots, a test run; ends at 600 s.
    static func record() -> [Event] {
        var record = Record()
        record.add(
            0, .sessionFormed, "system",
            SessionFormedPayload(
                module: "python-intro", members: ["alice", "bob"], roles: ["alice": "driver", "bob": "navigator"], roleOrder: ["driver", "navigator"],
                lateJoinRole: "navigator"))
        record.events.append(
            EventDraft(time: start.addingTimeInterval(1), type: .presenceJoined, actor: "alice", session: "s-1", payload: [:]).committed(id: 2))
        record.add(5, .botMessage, "bot", BotMessagePayload(text: "Hi <b>team</b>", name: "OPE_Bot", prompt: "welcome"))
        record.add(10, .chatMessage, "alice", ChatPayload(text: "let's start", clientId: nil))
        record.add(20, .workspaceEdited, "alice", EditedPayload(updates: 4, document: "text_stats.ipynb", bytes: 120, role: "driver"))
        record.add(30, .workspaceSnapshot, "system", SnapshotPayload(document: "text_stats.ipynb", cells: [cell("x = 1")], hash: "h1"))
        record.add(40, .workspaceEdited, "alice", EditedPayload(updates: 2, document: "text_stats.ipynb", bytes: 30, role: "driver"))
        record.add(
            50, .workspaceExecuted, "alice",
            ExecutedPayload(document: "text_stats.ipynb", code: "print(x)", outcome: "ok", output: "1\n", executionCount: 1, role: "driver"))
        record.add(60, .workspaceSnapshot, "system", SnapshotPayload(document: "text_stats.ipynb", cells: [cell("print(x)", output: "1\n")], hash: "h2"))
        record.add(300, .roleChanged, "system", RolesPayload(roles: ["alice": "navigator", "bob": "driver"], reason: "rotate", rotation: 1))
        record.add(310, .chatMessage, "bob", ChatPayload(text: "my turn", clientId: nil))
        record.add(320, .chatMessage, "alice", ChatPayload(text: "go", clientId: nil))
        record.add(
            330, .workspaceExecuted, "bob",
            ExecutedPayload(code: "1/0", outcome: "error", errorName: "ZeroDivisionError", errorValue: "division by zero", role: "driver"))
        record.add(340, .testResult, "bob", TestResultPayload(task: "text-stats", passed: false))
        record.add(350, .testResult, "bob", TestResultPayload(task: "text-stats", passed: true))
        record.add(600, .sessionPhaseChanged, "system", PhaseChangedPayload(phase: .completed))
        record.add(700, .chatMessage, "bob", ChatPayload(text: "after the end", clientId: nil))
        return record.events
    }

    @Test func theTimelineHasEveryShownEventInOrderWithItsKindAndWords() {
        let replay = SessionReplay(session: "s-1", events: Self.record(), now: Self.start.addingTimeInterval(1000))
        #expect(replay.module == "python-intro")
        #expect(replay.members == ["alice", "bob"])
        // Presence is left out; everything else is there, in time order.
        #expect(replay.entries.count == Self.record().count - 1)
        #expect(!replay.entries.contains { $0.type == "presence.joined" })
        #expect(replay.entries.map(\.offset) == replay.entries.map(\.offset).sorted())
        #expect(replay.duration == 700_000)
        let kinds = replay.entries.map(\.kind)
        #expect(kinds.prefix(7) == [.session, .bot, .chat, .edit, .snapshot, .edit, .execution])
        let run = replay.entries.first { $0.kind == .execution }
        #expect(run?.text == "alice ran a cell in text_stats.ipynb: ok")
        #expect(run?.role == "driver")
        #expect(run?.payload["output"] == "1\n")
        #expect(replay.entries.first { $0.kind == .bot }?.text == "OPE_Bot: Hi <b>team</b> [prompt welcome]")
        #expect(replay.entries.first { $0.kind == .role }?.text == "roles: alice navigator, bob driver (rotate)")
        #expect(replay.entries.last { $0.kind == .execution }?.text == "bob ran a cell: error (ZeroDivisionError)")
        #expect(replay.entries.first { $0.kind == .edit }?.text == "alice edited text_stats.ipynb: 4 updates, 120 bytes")
        #expect(replay.documents == ["text_stats.ipynb"])
    }

    @Test func aNotebookAtAMomentIsItsLatestSnapshotThenAndTheEditsSince() {
        let events = Self.record()
        func at(_ seconds: TimeInterval) -> [NotebookState] { NotebookState.states(at: Self.start.addingTimeInterval(seconds), in: events) }
        #expect(at(15).isEmpty)
        // Edited before any snapshot: no content yet, the edit listed.
        let early = at(25)
        #expect(early.count == 1)
        #expect(early[0].snapshot == nil)
        #expect(early[0].editsSince.map(\.actor) == ["alice"])
        // The first snapshot, and the edit after it.
        let middle = at(45)
        #expect(middle[0].snapshot?.cells.map(\.source) == ["x = 1"])
        #expect(middle[0].editsSince.map(\.updates) == [2])
        #expect(middle[0].editsSince.first?.role == "driver")
        // Exactly at the second snapshot: it counts, and no edit after it yet.
        let later = at(60)
        #expect(later[0].snapshot?.cells.first?.output == "1\n")
        #expect(later[0].editsSince.isEmpty)
        #expect(at(10_000) == later)
    }

    @Test func contributionsCountEachMembersRolesEditsRunsChatAndTests() throws {
        var tally = ContributionTally(session: "s-1")
        for event in Self.record() { tally.add(event) }
        let figures = tally.contributions(now: Self.start.addingTimeInterval(10_000))
        #expect(figures.module == "python-intro")
        #expect(figures.ended == Self.start.addingTimeInterval(600))
        let alice = try #require(figures.members.first { $0.user == "alice" })
        let bob = try #require(figures.members.first { $0.user == "bob" })
        #expect(figures.members.map(\.user) == ["alice", "bob"])
        // Roles until the rotation at 300 s, then the other way until the end at 600 s.
        #expect(alice.roleSeconds == ["driver": 300, "navigator": 300])
        #expect(bob.roleSeconds == ["navigator": 300, "driver": 300])
        #expect((alice.edits, alice.editUpdates, alice.editBytes) == (2, 6, 150))
        #expect((alice.executions, alice.executionErrors, bob.executions, bob.executionErrors) == (1, 0, 1, 1))
        // The chat after the end is not counted.
        #expect((alice.chatMessages, bob.chatMessages) == (2, 1))
        #expect((bob.testRuns, bob.testsPassed, alice.testRuns) == (2, 1, 0))
    }

    @Test func aLiveTeamsRoleTimeRunsToNowAndTallyingInPiecesGivesTheSameFigures() {
        let events = Self.record().filter { $0.time < Self.start.addingTimeInterval(600) }
        var whole = ContributionTally(session: "s-1")
        for event in events { whole.add(event) }
        var pieces = ContributionTally(session: "s-1")
        for event in events.prefix(5) { pieces.add(event) }
        #expect(pieces.lastID == 5)
        for event in events.dropFirst(5) { pieces.add(event) }
        let now = Self.start.addingTimeInterval(400)
        #expect(whole.contributions(now: now) == pieces.contributions(now: now))
        let alice = whole.contributions(now: now).members[0]
        #expect(alice.roleSeconds == ["driver": 300, "navigator": 100])
        #expect(!whole.isOver)
    }

    @Test func theExportHasARowPerSessionAndMemberWithAColumnPerRole() throws {
        var report = Contributions.Report()
        var other = Record()
        other.add(0, .chatMessage, "zoe", ChatPayload(text: "a session formed before the export's window", clientId: nil))
        let strays = other.events.map { event -> Event in
            var event = event
            event.session = "s-2"
            return event
        }
        report.add(strays + Self.record())
        let sessions = report.contributions(now: Self.start.addingTimeInterval(10_000))
        #expect(sessions.map(\.session) == ["s-1"])
        let csv = Contributions.csv(sessions).split(separator: "\n").map(String.init)
        #expect(
            csv[0]
                == "session,module,group,condition,member,seconds_driver,seconds_navigator,edits,edit_updates,edit_bytes,executions,execution_errors,chat_messages,test_runs,tests_passed"
        )
        #expect(csv[1] == "s-1,python-intro,,,alice,300,300,2,6,150,1,0,2,0,0")
        #expect(csv[2] == "s-1,python-intro,,,bob,300,300,0,0,0,1,1,1,2,1")
        let lines = try Contributions.jsonLines(sessions).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try JSONValue.parseObject(String(lines[0]))
        #expect(first["session"] == "s-1")
        #expect(first["member"]?.objectValue?["roleSeconds"]?.objectValue?["driver"] == 300)
    }

    @Test func aNotebookBecomesASnapshotOfItsCellsWhoseHashFollowsTheirContent() throws {
        let notebook = try JSONValue.parseObject(
            """
            {"cells": [
              {"id": "c1", "cell_type": "markdown", "source": ["# Title\\n", "text"], "metadata": {}},
              {"id": "c2", "cell_type": "code", "source": "print('hi')\\n1/0", "execution_count": 3, "outputs": [
                {"output_type": "stream", "name": "stdout", "text": ["hi\\n"]},
                {"output_type": "execute_result", "data": {"text/plain": "42", "text/html": "<b>42</b>"}},
                {"output_type": "error", "ename": "ZeroDivisionError", "evalue": "division by zero", "traceback": ["..."]}
              ]}
            ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
            """)
        let payload = NotebookSnapshots.payload(document: "t.ipynb", notebook: notebook)
        #expect(payload.cells.count == 2)
        #expect(payload.cells[0] == SnapshotPayload.Cell(id: "c1", type: "markdown", source: "# Title\ntext"))
        #expect(payload.cells[1].executionCount == 3)
        #expect(payload.cells[1].output == "hi\n42\nZeroDivisionError: division by zero\n")
        #expect(payload.hash.count == 64)
        // Metadata does not count; the cells do.
        var moved = notebook
        moved["metadata"] = ["kernelspec": "python3"]
        #expect(NotebookSnapshots.payload(document: "t.ipynb", notebook: moved).hash == payload.hash)
        var edited = notebook
        edited["cells"] = .array([notebook["cells"]!.arrayValue![0]])
        #expect(NotebookSnapshots.payload(document: "t.ipynb", notebook: edited).hash != payload.hash)
        // A long output keeps its head and tail.
        let long = try JSONValue.parseObject(
            #"{"cells": [{"cell_type": "code", "source": "", "outputs": [{"output_type": "stream", "text": "\#(String(repeating: "a", count: 3000))z"}]}]}"#)
        let output = try #require(NotebookSnapshots.payload(document: "t.ipynb", notebook: long).cells[0].output)
        #expect(output.count < 2100 && output.hasPrefix("aaa") && output.hasSuffix("z\n"))
    }
}

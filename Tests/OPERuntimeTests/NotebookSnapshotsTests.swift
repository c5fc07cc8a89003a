import Foundation
import OPECore
import OPERuntime
import OPEStore
import OPETestSupport
import OPEWorkspaces
import Synchronization
import Testing

/// The snapshot writer over a real event log, a manual clock and a stand-in for the workspace's
/// contents API: it looks only at teams that edit, records a notebook only when it changed, and
/// takes a last look when the session ends.
@Suite struct NotebookSnapshotsTests {
    /// What the stand-in workspace holds (document → cell sources), and the reads it answered.
    final class Files: Sendable {
        let state = Mutex<(notebooks: [String: [String]], reads: [String])>(([:], []))

        func set(_ document: String, _ sources: [String]) { state.withLock { $0.notebooks[document] = sources } }
        var reads: [String] { state.withLock { $0.reads } }

        func fetch(_ document: String) -> [String: JSONValue]? {
            state.withLock { state in
                state.reads.append(document)
                return state.notebooks[document].map { sources in
                    ["cells": .array(sources.map { ["cell_type": "code", "source": .string($0)] })]
                }
            }
        }
    }

    /// A snapshot names the cells that changed since the notebook's previous one.
    @Test func changedCellsAreThoseNewOrDifferent() {
        typealias Cell = SnapshotPayload.Cell
        let before = [Cell(id: "a", type: "code", source: "x = 1"), Cell(id: "b", type: "markdown", source: "# T"), Cell(id: nil, type: "code", source: "")]
        let after = [
            Cell(id: "a", type: "code", source: "x = 1", executionCount: 1, output: "1\n"), Cell(id: "b", type: "markdown", source: "# T"),
            Cell(id: "c", type: "code", source: "y = 2"),
        ]
        #expect(NotebookSnapshots.changedCells(from: before, to: after) == ["a", "c"], "a ran (new output), c is new, b is unchanged")
        #expect(NotebookSnapshots.changedCells(from: after, to: after).isEmpty)
    }

    @Test func aTeamThatEditsGetsASnapshotOfEachChangedNotebookAndALastOneAtTheEnd() async throws {
        let folder = NSTemporaryDirectory() + "ope-snapshots-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try Store(dataDirectory: folder)
        let clock = ManualClock()
        let files = Files()
        files.set("task.ipynb", ["x = 1"])
        files.set("mine.ipynb", ["y = 2"])
        let workspace = Workspace(id: "s-1", session: "s-1", url: "http://127.0.0.1:1/w/s-1/", token: "t", directory: folder)
        let snapshots = NotebookSnapshots(
            locate: { session in
                NotebookSnapshots.Place(workspace: session == "s-1" ? workspace : nil, directory: nil, notebooks: ["task.ipynb"])
            },
            fetch: { _, document in files.fetch(document) }, events: store.events, clock: clock, interval: .seconds(10), hotFor: .seconds(60))
        @Sendable func recorded(_ document: String) async throws -> [SnapshotPayload] {
            try await store.reader.events(EventFilter(session: "s-1", types: [.workspaceSnapshot])).compactMap { $0.decode(SnapshotPayload.self) }
                .filter { $0.document == document }
        }
        let running = Task { try await snapshots.run() }
        defer { running.cancel() }
        /// Moves the clock on until one more timed pass has run.
        @Sendable func pass(by step: Duration = .seconds(10)) async throws {
            let before = await snapshots.passes
            try await clock.advance(by: step, until: "a pass") { await snapshots.passes > before }
        }

        // Nobody edited: passes read nothing.
        try await pass()
        try await pass()
        #expect(files.reads.isEmpty)

        // An edit names a notebook: the next pass records it and the task's notebook.
        _ = try await store.events.append(
            EventDraft(time: clock.now, type: .workspaceEdited, actor: "alice", session: "s-1", payload: EditedPayload(updates: 3, document: "mine.ipynb")))
        try await clock.advance(by: .seconds(10), until: "the edited notebook's snapshot") { try await recorded("mine.ipynb").count == 1 }
        try await waitUntil("the task notebook's snapshot") { try await recorded("task.ipynb").count == 1 }
        #expect(try await recorded("mine.ipynb").first?.cells.map(\.source) == ["y = 2"])

        // Unchanged: read again, not recorded again. Changed: recorded.
        let readsBefore = files.reads.count
        try await pass()
        #expect(files.reads.count >= readsBefore + 2)
        #expect(try await recorded("mine.ipynb").count == 1)
        files.set("mine.ipynb", ["y = 3"])
        try await pass()
        #expect(try await recorded("mine.ipynb").map { $0.cells.map(\.source) } == [["y = 2"], ["y = 3"]])

        // A minute without edits: the team is left alone.
        try await pass(by: .seconds(70))
        let quiet = files.reads.count
        try await pass()
        try await pass()
        #expect(files.reads.count == quiet)

        // The session ends: a last look, done when it returns (the workspace goes away next).
        files.set("task.ipynb", ["x = 10"])
        await snapshots.lastLook(at: "s-1")
        #expect(try await recorded("task.ipynb").count == 2)
        let last = try await store.reader.latest(EventFilter(session: "s-1", types: [.workspaceSnapshot])).first
        #expect(last?.actor == "system")
        #expect(last?.decode(SnapshotPayload.self)?.cells.map(\.source) == ["x = 10"])
    }
}

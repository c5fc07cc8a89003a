import Foundation
import HTTPTypes
import HummingbirdTesting
import OPECore
import OPEGateway
import OPEStore
import OPETestSupport
import Testing

/// Editing in the team's JupyterLab counts as activity on the dashboard: the proxy notes document
/// updates on the collaboration sockets, coalesced to one `workspace.edited` event per member,
/// document and 10 seconds.
@Suite struct EditActivityTests {
    /// Two collaborative clients (as alice, through the proxy) add a cell, edit it and delete it
    /// again: scripts/collab_check.py.
    func edit(_ client: any TestClientProtocol, session: String, token: String, notebook: String) async throws {
        let port = try #require(client.port)
        let result = try await CommandRunner().run(
            [
                try TestGateway.venv + "/bin/python", WorkspaceTests.packageRoot + "/scripts/collab_check.py", "--base-url",
                "http://127.0.0.1:\(port)/w/\(session)/", "--header", "Authorization: Bearer \(token)", "--origin", "http://127.0.0.1:\(port)",
                "--notebook", notebook, "--timeout", "60",
            ],
            timeout: .seconds(180)
        )
        #expect(result.succeeded, "collab_check failed:\n\(result.output)")
    }

    @Test func editingThroughTheProxyUpdatesLastActivity() async throws {
        let clock = ManualClock()
        try await TestGateway.runWithWorkspaces(clock: clock) { client, store, _ in
            let (alicesBrowser, bobsBrowser, session) = try await client.pair()
            try await waitUntil("the workspace to start", timeout: .seconds(180)) {
                try await !store.reader.events(EventFilter(session: session, types: [.workspaceStarted])).isEmpty
            }
            // Both have the session page open (they are in the room), so the quiet minutes below
            // do not end the session for their absence.
            let rooms = [RoomClient(), RoomClient()]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (room, browser) in zip(rooms, [alicesBrowser, bobsBrowser]) {
                    group.addTask { try await room.run(client, path: "/api/sessions/\(session)/ws", cookie: browser.cookie) }
                    _ = try await room.inbox.waitFor(type: "synced")
                }
                try await checkEdits(client, store: store, clock: clock, session: session)
                for room in rooms { room.close() }
                try await group.waitForAll()
            }
        }
    }

    func checkEdits(_ client: any TestClientProtocol, store: Store, clock: ManualClock, session: String) async throws {
        let teacher = try await client.login("teacher")
        func activity() async throws -> [String: Any] {
            let teams = try await client.get("/api/sessions", headers: teacher.headers).jsonArray()
            return try #require(teams.first { $0["id"] as? String == session }?["activity"] as? [String: Any])
        }
        // Twenty quiet minutes: the team looks stuck.
        clock.advance(by: .seconds(20 * 60))
        #expect(try await activity()["stuck"] as? String == "no chat, editing or test runs for 20 minutes")
        #expect(try await activity()["lastEdit"] == nil)

        let alice = try #require(try await store.users.find("alice"))
        let token = try await store.tokens.create(for: alice, name: "edits", actor: "test").secret
        try await edit(client, session: session, token: token, notebook: "first.ipynb")
        let edits: @Sendable () async throws -> [Event] = { try await store.reader.events(EventFilter(session: session, types: [.workspaceEdited])) }
        try await waitUntil("the edit to be recorded", timeout: .seconds(30)) { try await !edits().isEmpty }
        let seen = try await activity()
        #expect(seen["stuck"] == nil, "editing is activity")
        #expect(seen["lastEditBy"] as? String == "alice")
        let lastEdit = try #require((seen["lastEdit"] as? String).flatMap(LeaveSessionTests.date))
        #expect(seen["lastActivity"] as? String == seen["lastEdit"] as? String)
        #expect(abs(lastEdit.timeIntervalSince(clock.now)) < 1, "stamped with the server's clock")
        // Several updates (a cell added, typed into, deleted) within the window (10 s): one event.
        let first = try await edits()
        #expect(first.count == 1 && first.first?.actor == "alice" && first.first?.payload["updates"] == .number(1), "\(first)")

        // Once the window has passed, what was counted meanwhile is recorded without waiting for
        // the next edit (the edit service's pass on the test's clock).
        clock.advance(by: .seconds(11))
        try await waitUntil("the rest of the first burst to be recorded", timeout: .seconds(30)) { try await edits().count >= 2 }
        try await edit(client, session: session, token: token, notebook: "second.ipynb")
        try await waitUntil("the second notebook's edit to be recorded", timeout: .seconds(30)) { try await edits().count >= 3 }
        let all = try await edits()
        #expect(all.count == 3, "one event per member, document and window, not one per update: \(all.map(\.payload))")
        // Each edit names its document (the proxy learnt which room edits which file when the
        // document was opened), its size and the member's role.
        let payloads = all.compactMap { $0.decode(EditedPayload.self) }
        #expect(payloads.map(\.document) == ["first.ipynb", "first.ipynb", "second.ipynb"], "\(payloads)")
        #expect(payloads[1].updates >= 1, "the updates counted after the first event")
        // (python-intro's bot hands out the roles, so alice's is whichever it gave her.)
        #expect(payloads.allSatisfy { ($0.bytes ?? 0) > 0 && $0.role != nil && $0.role == payloads[0].role }, "\(payloads)")
    }
}

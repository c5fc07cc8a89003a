import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import OPECore
import OPEGateway
import OPEModules
import OPERuntime
import OPEStore
import OPETestSupport
import OPEWorkspaces
import Synchronization
import Testing

/// Sessions with real JupyterLab workspaces behind the gateway's proxy.
@Suite(.serialized) struct WorkspaceTests {
    static var packageRoot: String { URL(fileURLWithPath: TestGateway.examples).deletingLastPathComponent().deletingLastPathComponent().path }

    /// Waits for an event of `type` in `session` and returns it. Workspaces are real JupyterLabs:
    /// the bound is generous, as a start on a busy machine takes a while.
    @discardableResult
    func waitForEvent(
        _ store: Store, session: String, _ type: EventType, after: Int64 = 0, timeout: Duration = .seconds(180)
    ) async throws -> Event {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let event = try await store.reader.events(EventFilter(afterID: after, session: session)).first(where: { $0.type == type }) { return event }
            try await Task.sleep(for: .milliseconds(50))
        }
        let seen = try await store.reader.events(EventFilter(session: session)).map { "\($0.type) \($0.payload)" }.joined(separator: "\n")
        throw RoomTestError("no \(type) in session \(session) within \(timeout); events:\n\(seen)")
    }

    /// A virtualenv whose `jupyter-lab` is the given shell script, to play a broken install.
    static func fakeVenv(jupyterLab script: String) throws -> String {
        let venv = NSTemporaryDirectory() + "ope-fake-venv-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: venv + "/bin", withIntermediateDirectories: true)
        try "#!/bin/sh\n\(script)\n".write(toFile: venv + "/bin/jupyter-lab", atomically: true, encoding: .utf8)
        chmod(venv + "/bin/jupyter-lab", 0o755)
        return venv
    }

    func readyWorkspace(_ gateway: Gateway, _ session: String) async throws -> Workspace {
        let state = await gateway.workspaces?.state(of: session)
        guard case .ready(let workspace)? = state else { throw RoomTestError("workspace of \(session) is \(String(describing: state))") }
        return workspace
    }

    @Test func aSessionGetsItsOwnJupyterLabBehindTheProxy() async throws {
        try await TestGateway.runWithWorkspaces { client, store, gateway in
            let (alice, bob, session) = try await client.pair()
            let started = try await waitForEvent(store, session: session, .workspaceStarted)
            #expect(started.payload["path"]?.stringValue == "/w/\(session)/")
            let detail = try await client.get("/api/sessions/\(session)", headers: alice.headers).json()
            #expect(detail["phase"] as? String == "active")
            let info = try #require(detail["workspace"] as? [String: Any])
            #expect(info["state"] as? String == "ready")
            #expect(info["path"] as? String == "/w/\(session)/")
            let workspace = try await readyWorkspace(gateway, session)

            // Members get through with their cookie; the starter files are there.
            let contents = try await client.get("/w/\(session)/api/contents", headers: alice.headers)
            #expect(contents.status == .ok)
            let listing = String(buffer: contents.body)
            #expect(listing.contains("\"rle.py\"") && listing.contains("\"text_stats.py\""))
            // The JupyterLab token never reaches the browser.
            #expect(!listing.contains(workspace.token))
            #expect(!contents.headers.map(\.value).joined().contains(workspace.token))
            // JupyterLab's own page loads through the proxy.
            let lab = try await client.get("/w/\(session)/lab", headers: bob.headers)
            #expect(lab.status == .ok)
            #expect(String(buffer: lab.body).contains("/w/\(session)/static/lab"))
            #expect(!String(buffer: lab.body).contains(workspace.token))
            // Jupyter's own cookies stay with the proxy (one of them signs in to the workspace directly for 30 days).
            #expect(lab.headers[.setCookie] == nil, "JupyterLab's cookie reached the browser: \(lab.headers[.setCookie] ?? "")")
            #expect(!lab.headers.map(\.value).joined().contains(workspace.token))
            // JupyterLab's own error pages carry it too; not through the proxy.
            let missing = try await client.get("/w/\(session)/no/such/page", headers: bob.headers)
            #expect(missing.status == .notFound)
            #expect(!String(buffer: missing.body).contains(workspace.token))
            #expect(try await client.get("/w/\(session)", headers: bob.headers).headers[.location] == "/w/\(session)/")

            // Everyone else is refused.
            #expect(try await client.get("/w/\(session)/api/contents").status == .unauthorized)
            let carol = try await client.login("carol")
            let refused = try await client.get("/w/\(session)/api/contents", headers: carol.headers)
            #expect(refused.status == .forbidden)
            #expect(refused.errorMessage?.contains("only members of session") == true)
            #expect(try await client.get("/w/s-nope/api/contents", headers: carol.headers).status == .notFound)
            let teacher = try await client.login("teacher")
            #expect(try await client.get("/w/\(session)/api/contents", headers: teacher.headers).status == .ok)

            // Writes stream through; other sites cannot make them.
            var foreign = alice.headers
            foreign[.origin] = "https://evil.example"
            #expect(try await client.putText("/w/\(session)/api/contents/notes.txt", "x", headers: foreign).status == .forbidden)
            let big = String(repeating: "0123456789abcdef\n", count: 200_000)  // 3.4 MB
            let saved = try await client.putText("/w/\(session)/api/contents/notes.txt", big, headers: alice.headers)
            #expect(saved.status == .created || saved.status == .ok, "\(String(buffer: saved.body))")
            let back = try await client.get("/w/\(session)/api/contents/notes.txt?content=1&format=text", headers: bob.headers)
            #expect(try back.json()["content"] as? String == big)
            #expect(FileManager.default.fileExists(atPath: workspace.directory + "/notes.txt"))
            // WebSockets go through for members (here: JupyterLab's event stream) and are refused
            // from other sites and for outsiders.
            let stream = RoomClient()
            let connected = Task { try await stream.run(client, path: "/w/\(session)/api/events/subscribe", cookie: alice.cookie) }
            try await waitUntil("the proxied WebSocket to open") { await stream.inbox.opened }
            stream.close()
            try await connected.value
            await #expect(throws: (any Error).self) {
                try await RoomClient().run(client, path: "/w/\(session)/api/events/subscribe", cookie: alice.cookie, origin: "https://evil.example")
            }
            await #expect(throws: (any Error).self) {
                try await RoomClient().run(client, path: "/w/\(session)/api/events/subscribe", cookie: carol.cookie)
            }

            // A kernel, started through the proxy, runs in a process session of its own.
            let kernel = try await client.execute(
                uri: "/w/\(session)/api/kernels", method: .post, headers: alice.headers.merging([.contentType: "application/json"]),
                body: ByteBuffer(string: #"{"name":"python3"}"#)
            )
            #expect(kernel.status == .created, "\(String(buffer: kernel.body))")
            #expect(WorkspaceProcesses.pids(of: session).count >= 2, "no kernel process found")

            // Ending the session stops its JupyterLab and kernel; nothing is left.
            _ = try await client.execute(uri: "/api/sessions/\(session)/end", method: .post, headers: teacher.writeHeaders)
            try await waitForEvent(store, session: session, .workspaceStopped)
            let pid = try #require(workspace.processID)
            #expect(kill(pid, 0) != 0, "JupyterLab still runs after the session ended")
            #expect(WorkspaceProcesses.pids(of: session).isEmpty, "processes left: \(WorkspaceProcesses.pids(of: session))")
            #expect(try await client.get("/w/\(session)/api/contents", headers: alice.headers).status == .gone)
        }
    }

    @Test func runTestsRecordsTheResultAndTheRoomSeesIt() async throws {
        try await TestGateway.runWithWorkspaces { client, store, gateway in
            let (alice, _, session) = try await client.pair()
            try await waitForEvent(store, session: session, .workspaceStarted)
            let room = RoomClient()
            let connection = Task { try await room.run(client, path: "/api/sessions/\(session)/ws", cookie: alice.cookie) }
            defer { room.close() }
            _ = try await room.inbox.waitFor(type: "synced")

            let failing = try await client.postWaiting("/api/sessions/\(session)/tests", json: ["task": "run-length"], headers: alice.writeHeaders)
            #expect(failing.status == .ok, "\(String(buffer: failing.body))")
            let failed = try failing.json()
            #expect(failed["passed"] as? Bool == false)
            #expect((failed["output"] as? String)?.contains("failed") == true)
            let shown = try await room.inbox.waitFor("test result") { $0["type"] as? String == "test" }
            #expect(shown["task"] as? String == "run-length")
            #expect(shown["passed"] as? Bool == false)

            // The group writes the solution in JupyterLab (through the proxy), then passes.
            let solution = try String(contentsOfFile: TestGateway.examples + "/python-intro/solution/rle.py", encoding: .utf8)
            #expect(try await client.putText("/w/\(session)/api/contents/rle.py", solution, headers: alice.headers).status == .ok)
            let passing = try await client.postWaiting("/api/sessions/\(session)/tests", json: ["task": "run-length"], headers: alice.writeHeaders).json()
            #expect(passing["passed"] as? Bool == true, "\(passing["output"] ?? "")")
            // The hidden test files never land in the group's folder.
            let workspace = try await readyWorkspace(gateway, session)
            #expect(!FileManager.default.fileExists(atPath: workspace.directory + "/tests"))
            room.close()
            _ = try? await connection.value

            let unknown = try await client.post("/api/sessions/\(session)/tests", json: ["task": "nope"], headers: alice.writeHeaders)
            #expect(unknown.status == .badRequest)
            #expect(unknown.errorMessage == "the module has no task 'nope'")
            let carol = try await client.login("carol")
            #expect(try await client.post("/api/sessions/\(session)/tests", json: ["task": "run-length"], headers: carol.writeHeaders).status == .forbidden)
            let results = try await store.reader.events(EventFilter(session: session, types: [.testResult]))
            #expect(results.map { $0.payload["passed"] } == [.bool(false), .bool(true)])
        }
    }

    @Test func twoClientsEditOneNotebookAndRunCodeThroughTheProxy() async throws {
        try await TestGateway.runWithWorkspaces { client, store, gateway in
            let (_, _, session) = try await client.pair()
            try await waitForEvent(store, session: session, .workspaceStarted)
            let alice = try #require(try await store.users.find("alice"))
            let token = try await store.tokens.create(for: alice, name: "collab", actor: "test").secret
            let port = try #require(client.port)
            let result = try await CommandRunner().run(
                [
                    try TestGateway.venv + "/bin/python", Self.packageRoot + "/scripts/collab_check.py", "--base-url", "http://127.0.0.1:\(port)/w/\(session)/",
                    "--header", "Authorization: Bearer \(token)", "--origin", "http://127.0.0.1:\(port)", "--timeout", "60",
                ],
                timeout: .seconds(180)
            )
            #expect(result.succeeded, "collab_check failed:\n\(result.output)")
            let line = try #require(result.output.split(separator: "\n").last { $0.hasPrefix("{") })
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(summary["ok"] as? Bool == true)
            #expect(summary["output"] as? String == "42")
        }
    }

    @Test func anSQLSessionHasItsOwnDatabaseInTheNotebookAndTheTests() async throws {
        try await TestGateway.runWithWorkspaces(databases: true) { client, store, _ in
            let alice = try await client.login("alice")
            let bob = try await client.login("bob")
            _ = try await client.post("/api/lobby/join", json: ["module": "sql-joins"], headers: alice.writeHeaders)
            let matched = try await client.post("/api/lobby/join", json: ["module": "sql-joins"], headers: bob.writeHeaders).json()
            let session = try #require(matched["session"] as? String)
            try await waitForEvent(store, session: session, .workspaceStarted)

            let failing = try await client.postWaiting("/api/sessions/\(session)/tests", json: ["task": "inner-join"], headers: alice.writeHeaders).json()
            #expect(failing["passed"] as? Bool == false)
            #expect((failing["output"] as? String)?.contains("still empty") == true, "\(failing["output"] ?? "")")
            // Each test is listed with its outcome and the first line of why it failed.
            let cases = try #require(failing["cases"] as? [[String: Any]])
            #expect(cases.count >= 3 && cases.allSatisfy { $0["outcome"] as? String == "failed" }, "\(cases)")
            #expect(
                cases.contains { ($0["name"] as? String)?.hasPrefix("test_") == true && ($0["message"] as? String)?.contains("still empty") == true },
                "\(cases)")
            let solution = try String(contentsOfFile: TestGateway.examples + "/sql-joins/solution/inner_joins.py", encoding: .utf8)
            #expect(try await client.putText("/w/\(session)/api/contents/inner_joins.py", solution, headers: bob.headers).status == .ok)
            let passing = try await client.postWaiting("/api/sessions/\(session)/tests", json: ["task": "inner-join"], headers: bob.writeHeaders).json()
            #expect(passing["passed"] as? Bool == true, "\(passing["output"] ?? "")")

            // The notebook's kernel reaches the group's database with the credentials it was handed.
            let user = try #require(try await store.users.find("alice"))
            let token = try await store.tokens.create(for: user, name: "sql", actor: "test").secret
            let port = try #require(client.port)
            let code = [
                "import os, pymysql",
                "env = os.environ",
                "db = pymysql.connect(unix_socket=env['OPE_DB_SOCKET'], user=env['OPE_DB_USER'], password=env['OPE_DB_PASSWORD'], database=env['OPE_DB_NAME'])",
                "cursor = db.cursor(); cursor.execute('SELECT DATABASE(), 6*7'); name, answer = cursor.fetchone()",
                "print(name == env['OPE_DB_NAME'] and name.startswith('ope_s_'), answer)",
            ].joined(separator: "\n")
            let result = try await CommandRunner().run(
                [
                    try TestGateway.venv + "/bin/python", Self.packageRoot + "/scripts/collab_check.py", "--base-url", "http://127.0.0.1:\(port)/w/\(session)/",
                    "--header", "Authorization: Bearer \(token)", "--timeout", "60", "--code", code, "--expect", "True 42",
                ],
                timeout: .seconds(180)
            )
            #expect(result.succeeded, "the kernel could not use the database:\n\(result.output)")

            // The task's first step works as the instructions say: `mariadb` in a terminal is the SQL
            // console, connected to the team's database without options.
            let console =
                "import subprocess\nr = subprocess.run('mariadb < schema.sql && mariadb -N -e \"SELECT COUNT(*) FROM students\"', shell=True, capture_output=True, text=True)\nprint(r.stdout.strip() or r.stderr.strip())"
            let counted = try await KernelRun.run(console, in: session, port: port, token: token)
            #expect(Int((counted["stdout"] as? String ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 > 0, "mariadb in the workspace: \(counted)")

            // And in a notebook: `%%sql` cells (JupySQL, loaded at kernel start) run on the team's
            // database with no connection string, and `%sql --file` loads the starter schema.
            let notebookSQL = [
                "%sql --file schema.sql",
                "rows = %sql SELECT COUNT(*) AS n, DATABASE() AS db FROM students",
                "print('rows', rows[0][0], rows[0][1].startswith('ope_s_'))",
            ].joined(separator: "\n")
            let viaMagic = try await KernelRun.run(notebookSQL, in: session, port: port, token: token)
            let magicLine = (viaMagic["stdout"] as? String ?? "").split(separator: "\n").last.map(String.init) ?? ""
            let students = (counted["stdout"] as? String ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(magicLine == "rows \(students) True", "%%sql in the notebook: \(viaMagic)")

            // A notebook that leaves a transaction open on the team's database (pymysql does not
            // autocommit) holds locks on its tables; the tests recreate theirs in a database of
            // their own, so they are not held up by it.
            let hold = [
                "import os, pymysql",
                "env = os.environ",
                "held = pymysql.connect(unix_socket=env['OPE_DB_SOCKET'], user=env['OPE_DB_USER'], password=env['OPE_DB_PASSWORD'], database=env['OPE_DB_NAME'])",
                "cursor = held.cursor(); cursor.execute('CREATE TABLE IF NOT EXISTS students (id INT)'); held.commit()",
                "cursor.execute('SELECT * FROM students'); print('holding')",
            ].joined(separator: "\n")
            #expect(try await KernelRun.run(hold, in: session, port: port, token: token, keep: true)["stdout"] as? String == "holding\n")
            let whileHeld = try await client.postWaiting("/api/sessions/\(session)/tests", json: ["task": "inner-join"], headers: bob.writeHeaders).json()
            #expect(whileHeld["passed"] as? Bool == true, "the tests were held up by the notebook's open transaction: \(whileHeld["output"] ?? "")")
        }
    }

    @Test func aCrashedWorkspaceComesBackWithTheGroupsFiles() async throws {
        try await TestGateway.runWithWorkspaces { client, store, gateway in
            let (alice, _, session) = try await client.pair()
            let first = try await waitForEvent(store, session: session, .workspaceStarted)
            #expect(try await client.putText("/w/\(session)/api/contents/ours.txt", "keep me", headers: alice.headers).status == .created)
            let pid = try #require(try await readyWorkspace(gateway, session).processID)
            let kernel = try await client.execute(
                uri: "/w/\(session)/api/kernels", method: .post, headers: alice.headers.merging([.contentType: "application/json"]),
                body: ByteBuffer(string: #"{"name":"python3"}"#)
            )
            #expect(kernel.status == .created)
            let kernelPids = WorkspaceProcesses.pids(of: session).filter { $0 != pid }
            #expect(!kernelPids.isEmpty)
            kill(-pid, SIGKILL)
            let crashed = try await waitForEvent(store, session: session, .workspaceCrashed, after: first.id)
            #expect(crashed.payload["restarting"] == .bool(true))
            // The crashed server's kernel does not linger.
            let alive = WorkspaceProcesses.pids(of: session)
            for kernelPid in kernelPids { #expect(!alive.contains(kernelPid), "kernel \(kernelPid) outlived its crashed JupyterLab") }
            let again = try await waitForEvent(store, session: session, .workspaceStarted, after: crashed.id)
            #expect(again.payload["restart"] == .bool(true))
            let file = try await client.get("/w/\(session)/api/contents/ours.txt?content=1", headers: alice.headers)
            #expect(try file.json()["content"] as? String == "keep me")
        }
    }

    @Test func afterAServerRestartLiveSessionsGetTheirWorkspaceBackWithTheirFiles() async throws {
        let folder = NSTemporaryDirectory() + "ope-restart-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let session = try await Capture<String>.run { capture in
            try await TestGateway.runWithWorkspaces(folder: folder) { client, store, _ in
                let (alice, _, session) = try await client.pair()
                try await waitForEvent(store, session: session, .workspaceStarted)
                #expect(try await client.putText("/w/\(session)/api/contents/ours.txt", "still here", headers: alice.headers).status == .created)
                capture.set(session)
            }
        }
        // Shutdown stopped the workspace; the next server starts it again for the live session.
        try await TestGateway.runWithWorkspaces(folder: folder) { client, store, _ in
            let events = try await store.reader.events(EventFilter(session: session, types: [.workspaceStarted]))
            let first = try #require(events.first?.id)
            let again = try await waitForEvent(store, session: session, .workspaceStarted, after: first)
            #expect(again.payload["restart"] == .bool(true))
            let alice = try await client.login("alice")
            let file = try await client.get("/w/\(session)/api/contents/ours.txt?content=1", headers: alice.headers)
            #expect(try file.json()["content"] as? String == "still here")
        }
    }

    @Test func aJupyterLabThatCannotStartIsRetriedThenReported() async throws {
        let folder = NSTemporaryDirectory() + "ope-starts-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Each attempt leaves a line in the team's folder, which is all a sandboxed program may write.
        let venv = try Self.fakeVenv(jupyterLab: "echo start >> \"$HOME/starts\"\necho 'broken install' >&2\nexit 3")
        defer { try? FileManager.default.removeItem(atPath: venv) }
        try await TestGateway.runWithWorkspaces(workspaces: .init(maxConcurrentStarts: 1), venv: venv, folder: folder) { client, store, _ in
            let (alice, _, session) = try await client.pair()
            let failed = try await waitForEvent(store, session: session, .workspaceFailed)
            #expect(failed.payload["error"]?.stringValue?.contains("broken install") == true)
            let counter = folder + "/workspaces/\(session)/starts"
            #expect(try String(contentsOfFile: counter, encoding: .utf8).split(separator: "\n").count == 3)
            // The team is not stuck: the session is active, the proxy says what is wrong.
            let detail = try await client.get("/api/sessions/\(session)", headers: alice.headers).json()
            #expect(detail["phase"] as? String == "active")
            #expect((detail["workspace"] as? [String: Any])?["state"] as? String == "failed")
            let unavailable = try await client.get("/w/\(session)/lab", headers: alice.headers)
            #expect(unavailable.status == .serviceUnavailable)
            #expect(unavailable.errorMessage?.contains("broken install") == true)

            // While another session's start holds the only slot, a restart is refused with a time to retry.
            try await store.users.create(User(username: "dave", displayName: "Dave", role: .participant), password: TestGateway.password, actor: "test")
            let carol = try await client.login("carol")
            let dave = try await client.login("dave")
            _ = try await client.post("/api/lobby/join", json: ["module": "python-intro"], headers: carol.writeHeaders)
            let matched = try await client.post("/api/lobby/join", json: ["module": "python-intro"], headers: dave.writeHeaders).json()
            #expect(matched["status"] as? String == "matched")
            let teacher = try await client.login("teacher")
            let busy = try await client.execute(uri: "/api/sessions/\(session)/workspace/restart", method: .post, headers: teacher.writeHeaders)
            #expect(busy.status == .tooManyRequests)
            #expect(busy.headers[.retryAfter] != nil)
        }
    }

    @Test func theLobbyWaitsWhileStartsAreAtTheLimit() async throws {
        let venv = try Self.fakeVenv(jupyterLab: "exec sleep 300")
        defer { try? FileManager.default.removeItem(atPath: venv) }
        let clock = ManualClock()
        // The fake JupyterLab never gets ready: its start holds the only slot until the session ends.
        try await TestGateway.runWithWorkspaces(workspaces: .init(maxConcurrentStarts: 1), venv: venv, readyTimeout: .seconds(240), clock: clock) {
            client, store, gateway in
            let (alice, _, session) = try await client.pair()
            try await waitUntil("the start of \(session)") { await gateway.workspaces?.state(of: session) == .starting }
            // A second pair waits in the lobby instead of forming a session without a workspace.
            try await store.users.create(User(username: "dave", displayName: "Dave", role: .participant), password: TestGateway.password, actor: "test")
            let carol = try await client.login("carol")
            let dave = try await client.login("dave")
            _ = try await client.post("/api/lobby/join", json: ["module": "python-intro"], headers: carol.writeHeaders)
            let waiting = try await client.post("/api/lobby/join", json: ["module": "python-intro"], headers: dave.writeHeaders).json()
            #expect(waiting["status"] as? String == "waiting")
            // Past the settle time, a lobby pass still forms no group.
            clock.advance(by: .seconds(10))
            try await gateway.runtime.tick()
            #expect(try await client.get("/api/lobby", headers: dave.headers).json()["status"] as? String == "waiting")
            // Once the slot is free, the next pass matches them.
            let teacher = try await client.login("teacher")
            _ = try await client.execute(uri: "/api/sessions/\(session)/end", method: .post, headers: teacher.writeHeaders)
            try await waitUntil("the start slot freed") { gateway.workspaces?.hasStartCapacity == true }
            try await gateway.runtime.tick()
            #expect(try await client.get("/api/lobby", headers: dave.headers).json()["status"] as? String == "matched")
            _ = alice
        }
    }
}

/// More of the workspace lifecycle: the warm pool, idle culling, tests that hang.
@Suite(.serialized) struct WorkspaceLifecycleTests {
    @Test func aWarmPoolHandsOutAReadyWorkspaceAtOnce() async throws {
        try await TestGateway.runWithWorkspaces(warmPool: 1) { client, store, gateway in
            let backend = try #require(gateway.workspaces?.backend as? LocalJupyterBackend)
            try? await waitUntil("the warm pool to fill", timeout: .seconds(180)) { await backend.warmCount >= 1 }
            #expect(await backend.warmCount == 1, "the warm pool did not fill")
            let (alice, _, session) = try await client.pair()
            let started = try await WorkspaceTests().waitForEvent(store, session: session, .workspaceStarted)
            // A pooled path says the session got the warm workspace (how fast is `ope-bench proxy`'s question).
            let path = try #require(started.payload["path"]?.stringValue)
            #expect(path.hasPrefix("/w/p-"), "expected a pooled workspace, got \(path)")
            #expect(started.payload["startMs"] != nil)
            let listing = try await client.get(path + "api/contents", headers: alice.headers)
            #expect(listing.status == .ok)
            #expect(String(buffer: listing.body).contains("\"rle.py\""))
            // The pool fills up again for the next session.
            try? await waitUntil("the warm pool to fill again", timeout: .seconds(180)) { await backend.warmCount >= 1 }
            #expect(await backend.warmCount == 1)
        }
    }

    @Test func anIdleWorkspaceIsStoppedAndStartsAgainWhenOpened() async throws {
        let clock = ManualClock()
        // Shorter than the sessions' grace period: nobody is in the room here, and the session must
        // outlive its idle workspace.
        let timeout = Duration.seconds(60)
        try await TestGateway.runWithWorkspaces(workspaces: .init(idleTimeout: timeout), clock: clock) { client, store, gateway in
            let (alice, _, session) = try await client.pair()
            let tests = WorkspaceTests()
            let first = try await tests.waitForEvent(store, session: session, .workspaceStarted)
            // Nobody uses it for the idle timeout (and one check interval more): it is stopped.
            clock.advance(by: timeout + IdlePolicy(timeout: timeout).checkInterval)
            let stopped = try await tests.waitForEvent(store, session: session, .workspaceStopped, after: first.id)
            #expect(stopped.payload["reason"]?.stringValue == "idle")
            #expect(await gateway.workspaces?.state(of: session) == .stopped(reason: "idle"))
            // Opening it again starts it; the request waits for it. The proxy waits 20 s at most, as
            // long as the test client would: a client that waits longer sees the proxy's answer.
            let port = try #require(client.port)
            @Sendable func open() async throws -> (status: Int, body: String, retryAfter: String?) {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/w/\(session)/api/contents")
                request.headers.add(name: "Cookie", value: alice.cookie)
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
                let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
                return (Int(response.status.code), body, response.headers.first(name: "Retry-After"))
            }
            let listing = try await open()
            if listing.status == 503 {
                // JupyterLab took longer to start than the proxy waits (a busy machine): it says the
                // workspace is on its way and when to try again.
                #expect(listing.retryAfter != nil && (listing.body.contains("starting") || listing.body.contains("waiting")), "\(listing.body)")
            } else {
                #expect(listing.status == 200, "\(listing.status) \(listing.body)")
            }
            let again = try await tests.waitForEvent(store, session: session, .workspaceStarted, after: stopped.id)
            #expect(again.payload["restart"] == .bool(true))
            let reopened = try await open()
            #expect(reopened.status == 200 && reopened.body.contains("\"rle.py\""), "\(reopened.status) \(reopened.body)")
        }
    }

    @Test func workspacesCanHaveAnOriginOfTheirOwn() async throws {
        let port = try LoopbackPort.free()
        try await TestGateway.runWithWorkspaces(workspacePort: port) { client, store, _ in
            let (alice, _, session) = try await client.pair()
            try await WorkspaceTests().waitForEvent(store, session: session, .workspaceStarted)
            let detail = try await client.get("/api/sessions/\(session)", headers: alice.headers).json()
            let url = try #require((detail["workspace"] as? [String: Any])?["url"] as? String)
            #expect(url == "http://127.0.0.1:\(port)/w/\(session)/")
            // The platform's origin sends browsers to the workspace origin.
            let moved = try await client.get("/w/\(session)/api/contents", headers: alice.headers)
            #expect(moved.status == .temporaryRedirect)
            #expect(moved.headers[.location] == url + "api/contents")
            // There, the same sign-in cookie works (cookies are per host, not per port); only members get in.
            func get(_ cookie: String) async throws -> Int {
                var request = HTTPClientRequest(url: url + "api/contents")
                request.headers.add(name: "Cookie", value: cookie)
                return Int(try await HTTPClient.shared.execute(request, timeout: .seconds(60)).status.code)
            }
            #expect(try await get(alice.cookie) == 200)
            #expect(try await get(try await client.login("carol").cookie) == 403)
            // The platform's session page may frame JupyterLab from here (JupyterLab alone allows only itself).
            var lab = HTTPClientRequest(url: url + "lab")
            lab.headers.add(name: "Cookie", value: alice.cookie)
            let policy = try await HTTPClient.shared.execute(lab, timeout: .seconds(60)).headers.first(name: "content-security-policy") ?? ""
            #expect(policy.contains("frame-ancestors 'self' http://127.0.0.1:") && policy.components(separatedBy: "frame-ancestors").count == 2, "\(policy)")
            // The workspace origin serves nothing of the platform.
            var api = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/me")
            api.headers.add(name: "Cookie", value: alice.cookie)
            #expect(try await HTTPClient.shared.execute(api, timeout: .seconds(60)).status == .notFound)
        }
    }

    @Test func aHangingTestIsStoppedAtItsLimitAndLeavesNothingRunning() async throws {
        let folder = NSTemporaryDirectory() + "ope-hang-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/module/tests", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/group", withIntermediateDirectories: true)
        try "x = 1\n".write(toFile: folder + "/module/work.py", atomically: true, encoding: .utf8)
        try "x = 1\n".write(toFile: folder + "/group/work.py", atomically: true, encoding: .utf8)
        try "echo testing\n".write(toFile: folder + "/module/tests/check.sh", atomically: true, encoding: .utf8)
        let marker = 300 + Int.random(in: 1...99)
        try """
        id: hang
        title: Hangs
        kit: python
        tasks:
          - id: forever
            title: Never ends
            instructions: Wait.
            starter: [work.py]
            test:
              files: [tests/check.sh]
              command: sh tests/check.sh; sleep \(marker) & sleep \(marker + 100)
              timeout: 1s
        """.write(toFile: folder + "/module/module.yaml", atomically: true, encoding: .utf8)
        let module = try ModuleParser().parse(folder: folder + "/module")
        let store = try Store(dataDirectory: folder + "/data", hasher: PasswordHasher(logN: 8, blockSize: 8, parallelism: 1))
        let sandbox = try await TestGateway.sandbox(for: folder + "/data")
        defer { sandbox.shutDown() }
        let service = TaskTestService(events: store.events, venv: nil, sandbox: sandbox)
        let began = ContinuousClock.now
        let outcome = try await service.run(task: "forever", module: module, session: "s-hang", directory: folder + "/group", environment: [:], by: "alice")
        // Stopped at its 1 s limit, not after the 300 s its processes would sleep (a busy machine takes longer to clean up).
        #expect(ContinuousClock.now - began < .seconds(60))
        #expect(outcome.timedOut)
        #expect(!outcome.passed)
        #expect(outcome.output.contains("testing"))
        #expect(outcome.output.contains("did not finish within 1 s"))
        let left = try await CommandRunner().run(["pgrep", "-f", "sleep \(marker)"], timeout: .seconds(5))
        #expect(left.status == 1, "test processes are still running: \(left.output)")
        let recorded = try await store.reader.events(EventFilter(session: "s-hang", types: [.testResult]))
        #expect(recorded.first?.payload["timedOut"] == .bool(true))
        // The group's folder is untouched by the test files.
        #expect(!FileManager.default.fileExists(atPath: folder + "/group/tests"))
    }
}

/// Carries a value out of a `@Sendable` test body.
final class Capture<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)

    func set(_ newValue: Value) { value.withLock { $0 = newValue } }

    static func run(_ body: (Capture<Value>) async throws -> Void) async throws -> Value {
        let capture = Capture<Value>()
        try await body(capture)
        return try #require(capture.value.withLock { $0 })
    }
}

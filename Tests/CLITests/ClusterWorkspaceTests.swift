import Foundation
import OPECore
import OPETestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The cluster with real workspaces: cores running sandboxed JupyterLabs, both edges proxying them.
extension ClusterProcessTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test(.timeLimit(.minutes(10))) func aTeamAcrossTwoEdgesSharesItsWorkspaceAndItsTaskTests() async throws {
        let venv = ProcessInfo.processInfo.environment["OPE_VENV"] ?? Self.repository + "/.venv"
        try #require(
            FileManager.default.isExecutableFile(atPath: venv + "/bin/jupyter-lab"), "no JupyterLab at \(venv): run scripts/setup-venv.sh (make test does)")
        let cluster = try await Self.makeCluster(venv: venv)
        do {
            try await Self.shareWorkspaceAndTests(cluster, venv: venv)
        } catch {
            _ = await cluster.stop()
            throw error
        }
        // SIGTERM stops every part in moments, the edges too (they used to wait for the cores' event streams forever).
        let unstopped = await cluster.stop()
        #expect(unstopped.isEmpty, "did not stop cleanly on SIGTERM:\n\(unstopped.joined(separator: "\n"))")
    }

    static func shareWorkspaceAndTests(_ cluster: Cluster, venv: String) async throws {
        // alice through edge A, bob through edge B: one team in python-intro (its home is core 0).
        let alice = try await HTTPUser.signIn("alice", password: "password-alice", base: cluster.edge(0))
        let bob = try await HTTPUser.signIn("bob", password: "password-bob", base: cluster.edge(1))
        _ = try await alice.call("POST", "/api/lobby/join", json: ["module": "python-intro"])
        let matched = try await bob.call("POST", "/api/lobby/join", json: ["module": "python-intro"])
        let session = try #require(matched.body["session"] as? String)
        #expect(session.hasPrefix("s0-"))
        let aliceRoom = RoomSocket(url: cluster.room(0, session), cookie: alice.cookie)
        let bobRoom = RoomSocket(url: cluster.room(1, session), cookie: bob.cookie)
        defer { for socket in [aliceRoom, bobRoom] { socket.close() } }
        try await aliceRoom.waitFor("alice's room in sync") { $0["type"] as? String == "synced" }
        try await bobRoom.waitFor("bob's room in sync") { $0["type"] as? String == "synced" }

        // Core 0 starts the team's JupyterLab; each edge names it on its own workspace origin.
        for (index, user) in [(0, alice), (1, bob)] {
            try await waitUntil("the workspace ready, as edge \(index) tells \(user.base)", timeout: .seconds(180)) {
                let workspace = try await user.call("GET", "/api/sessions/\(session)").body["workspace"] as? [String: Any]
                if workspace?["state"] as? String == "failed" {
                    throw ProcessFailure("the workspace failed to start: \(workspace?["reason"] ?? "")")
                }
                return workspace?["state"] as? String == "ready"
            }
            let workspace = try #require(try await user.call("GET", "/api/sessions/\(session)").body["workspace"] as? [String: Any])
            #expect(workspace["url"] as? String == cluster.workspaceOrigin(index) + "/w/\(session)/")
        }
        // JupyterLab answers through both edges' proxies, each member with their own sign-in cookie.
        let aliceLab = HTTPUser(base: cluster.workspaceOrigin(0), cookie: alice.cookie)
        let bobLab = HTTPUser(base: cluster.workspaceOrigin(1), cookie: bob.cookie)
        for lab in [aliceLab, bobLab] {
            let status = try await lab.call("GET", "/w/\(session)/api/status")
            #expect(status.status == 200, "JupyterLab's status through \(lab.base): \(status.status) \(status.body)")
            #expect(status.body["started"] != nil, "\(status.body)")
            #expect(try await lab.call("GET", "/w/\(session)/lab").status == 200)
        }
        // Someone else's cookie does not open the team's workspace on either edge.
        let carol = try await HTTPUser.signIn("carol", password: "password-carol", base: cluster.edge(0))
        for index in [0, 1] {
            let refused = try await HTTPUser(base: cluster.workspaceOrigin(index), cookie: carol.cookie).call("GET", "/w/\(session)/api/status")
            #expect(refused.status == 403, "carol through edge \(index): \(refused.status) \(refused.body)")
        }

        // alice writes the solution through edge A's proxy; bob reads it back through edge B's.
        let solution = try String(contentsOfFile: CLICommandTests.examples + "/python-intro/solution/rle.py", encoding: .utf8)
        let saved = try await aliceLab.call("PUT", "/w/\(session)/api/contents/rle.py", json: ["type": "file", "format": "text", "content": solution])
        #expect(saved.status == 200, "saving rle.py through edge A: \(saved.status) \(saved.body)")
        let read = try await bobLab.call("GET", "/w/\(session)/api/contents/rle.py?content=1&format=text")
        #expect(read.status == 200, "\(read.body)")
        #expect(read.body["content"] as? String == solution, "bob does not see through edge B what alice saved through edge A")

        // bob runs the task's tests through edge B: they pass on the file alice wrote, and alice's room on edge A hears the result.
        let run = try await bob.call("POST", "/api/sessions/\(session)/tests", json: ["task": "run-length"])
        #expect(run.status == 200, "\(run.body)")
        #expect(run.body["task"] as? String == "run-length")
        #expect(run.body["passed"] as? Bool == true, "\(run.body["output"] ?? run.body)")
        let result = try await aliceRoom.waitFor("the test result at alice's edge") { $0["type"] as? String == "test" && $0["task"] as? String == "run-length" }
        #expect(result["passed"] as? Bool == true)
        try await bobRoom.waitFor("the test result at bob's edge") { $0["type"] as? String == "test" && $0["task"] as? String == "run-length" }

        // JupyterLab's WebSockets through edge B (two collaborative clients on a notebook, a kernel
        // running code), and the edit reaches the core: the instructor sees it through edge A.
        let check = try await OPEProcess.runProgram(
            venv + "/bin/python",
            [
                Self.repository + "/scripts/collab_check.py", "--base-url", cluster.workspaceOrigin(1) + "/w/\(session)/", "--header", "Cookie: \(bob.cookie)",
                "--origin", cluster.workspaceOrigin(1), "--timeout", "90",
            ],
            timeout: .seconds(240))
        #expect(check.status == 0, "collab_check through edge B failed:\n\(check.stdout)\n\(check.stderr.suffix(3000))")
        let summary = check.stdout.split(separator: "\n").last { $0.hasPrefix("{") }.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) }
        #expect((summary as? [String: Any])?["output"] as? String == "42", "\(check.stdout)")
        let teacher = try await HTTPUser.signIn("teacher", password: "password-teacher", base: cluster.edge(0))
        try await waitUntil("bob's edit through edge B on the dashboard through edge A", timeout: .seconds(60)) {
            let teams = try await teacher.list("/api/sessions")
            let activity = teams.first { $0["id"] as? String == session }?["activity"] as? [String: Any]
            return activity?["lastEditBy"] as? String == "bob"
        }
    }
}

extension HTTPUser {
    /// GET `path`, whose answer is a JSON array of objects.
    func list(_ path: String) async throws -> [[String: Any]] {
        var request = URLRequest(url: URL(string: base + path)!)
        request.setValue(cookie, forHTTPHeaderField: "Cookie")
        let (data, _) = try await Self.session.data(for: request)
        return (try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
    }
}

extension ClusterProcessTests.Cluster {
    /// Stops the edges, then the cores, as an operator would (SIGTERM): a core stops its team's
    /// JupyterLab and unmounts its volume on the way out, so nothing outlives the test. Returns
    /// the processes that did not exit with status 0 within 30 s (then killed), with their output's end.
    func stop() async -> [String] {
        var unstopped: [String] = []
        for process in edges + cores where process.process.isRunning {
            process.signal(SIGTERM)
            // waitForExit kills the process when the time is up.
            let status = try? await process.waitForExit(timeout: .seconds(30))
            if status != 0 {
                unstopped.append(
                    "\(process.process.arguments.prefix(3).joined(separator: " ")) (status \(status.map(String.init) ?? "none, killed")):\n\(process.text.suffix(2000))"
                )
            }
        }
        try? FileManager.default.removeItem(atPath: folder)
        return unstopped
    }
}

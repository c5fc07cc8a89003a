import Foundation
import OPECore
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite struct ServeCommandTests {
    static var examples: String { CLICommandTests.examples }

    @Test func startsPrintsHowToSignInAndShutsDownGracefullyOnSIGTERM() async throws {
        let data = temporaryFolder("ope-serve")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let port = try LoopbackPort.free()
        let server = try OPEProcess.start([
            "serve", "--port", "\(port)", "--data", data, "--modules", Self.examples, "--workspaces", "none",
        ])
        try await server.waitFor("OPE is running at http://127.0.0.1:\(port)")
        try await server.waitFor("bob")
        #expect(server.text.contains("admin     admin"))
        #expect(server.text.contains("alice     participant"))
        #expect(server.text.contains("teacher   instructor"))
        #expect(server.text.contains("Loaded 3 modules"))
        // It started itself again with the runtime's task frames on malloc (ServeCommand+Memory),
        // keeping its process id: the process this test started is the one serving. A value the
        // test's own environment already gives is left as it is.
        let slabs = "SWIFT_DEBUG_ENABLE_TASK_SLAB_ALLOCATOR"
        let environment = try String(contentsOfFile: "/proc/\(server.process.pid)/environ", encoding: .utf8).split(separator: "\0")
        #expect(environment.contains("\(slabs)=\(ProcessInfo.processInfo.environment[slabs] ?? "false")"))

        // Sign in as alice with the printed password.
        let line = try #require(server.text.split(separator: "\n").first { $0.contains("alice     participant") })
        let password = String(try #require(line.split(separator: " ").last))
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/auth/login")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: ["username": "alice", "password": password])
        let (body, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200, "\(String(decoding: body, as: UTF8.self))")
        // The event log's own metrics are exported too (its store opens before the server is built).
        let (metrics, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        let text = String(decoding: metrics, as: UTF8.self)
        #expect(text.contains("ope_events_committed_total ") && text.contains("ope_event_commit_duration_bucket"), "\(text.prefix(2000))")

        server.signal(SIGTERM)
        let status = try await server.waitForExit()
        #expect(status == 0, "\(server.text)")
        #expect(server.text.contains("event log flushed and closed"))

        // A second start on the same data dir creates no new accounts and still says how to sign in.
        let again = try OPEProcess.start(["serve", "--port", "\(port)", "--data", data, "--workspaces", "none", "--no-demo-users"])
        try await again.waitFor("OPE is running")
        try await again.waitFor("bob")
        again.signal(SIGINT)
        #expect(try await again.waitForExit() == 0)
    }

    @Test func aPortInUseGivesOneClearMessage() async throws {
        let data = temporaryFolder("ope-serve")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let port = try LoopbackPort.free()
        let blocker = try OPEProcess.start(["serve", "--port", "\(port)", "--data", data + "/first", "--workspaces", "none"])
        try await blocker.waitFor("OPE is running")
        let second = try await OPEProcess.run(["serve", "--port", "\(port)", "--data", data + "/second", "--workspaces", "none"])
        #expect(second.status != 0)
        #expect(second.stderr.contains("port \(port) on 127.0.0.1 is already in use"), "\(second.stderr)")
        blocker.signal(SIGTERM)
        _ = try await blocker.waitForExit()
    }

    @Test func localWorkspacesNeedTheVirtualenv() async throws {
        let data = temporaryFolder("ope-serve")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let result = try await OPEProcess.run(["serve", "--port", "0", "--data", data, "--venv", data + "/no-venv"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("JupyterLab not found at \(data)/no-venv/bin/jupyter-lab"))
    }

    @Test func anInvalidModuleIsSkippedAndTheRestLoad() async throws {
        let data = temporaryFolder("ope-serve")
        defer { try? FileManager.default.removeItem(atPath: data) }
        try FileManager.default.createDirectory(atPath: data + "/mods/bad", withIntermediateDirectories: true)
        try "id: bad\ntitle: Bad\nkit: python\ntasks:\n  - id: tt\n    title: T\n    instructions: x\n    starter: [../../escape.py]\n"
            .write(toFile: data + "/mods/bad/module.yaml", atomically: true, encoding: .utf8)
        let server = try OPEProcess.start([
            "serve", "--port", "0", "--data", data + "/d", "--modules", data + "/mods", "--modules", Self.examples, "--workspaces", "none",
        ])
        try await server.waitFor("OPE is running")
        #expect(server.text.contains("Loaded 3 modules"))
        #expect(
            server.text.contains("module skipped: \(data)/mods/bad/module.yaml:8:15: tasks[0].starter[0]: '../../escape.py' points outside the module folder"))
        server.signal(SIGTERM)
        _ = try await server.waitForExit()
    }
}

import Foundation
import OPECore
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The server against its own OpenAPI document (`/api/openapi.json`), by schemathesis with every
/// check: no 5xx, answers (status, headers, body) as documented, schema-valid requests accepted and
/// invalid ones refused, 405 with `Allow` for undocumented methods, auth honoured. The settings are
/// in `scripts/schemathesis.toml`; the tool comes from the tools virtualenv (`make test` makes it).
@Suite struct SchemathesisTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    /// Test cases per operation and phase: 30–70 s for the whole API on a quiet machine. In a full
    /// `make test` (load average above 20 on 2 cores) it has taken more than 6 minutes.
    static let examples = 30

    @Test(.timeLimit(.minutes(15))) func theAPIDoesWhatItsSchemaSays() async throws {
        let tools = ProcessInfo.processInfo.environment["OPE_TOOLS_VENV"] ?? Self.repository + "/.venv-tools"
        let schemathesis = tools + "/bin/schemathesis"
        try #require(
            FileManager.default.isExecutableFile(atPath: schemathesis),
            "schemathesis is missing at \(schemathesis): run scripts/setup-tools-venv.sh (make test does)"
        )
        let data = temporaryFolder("ope-schema")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let port = try LoopbackPort.free()
        let server = try OPEProcess.start([
            "serve", "--port", "\(port)", "--data", data, "--modules", Self.repository + "/examples/modules", "--workspaces", "none",
        ])
        defer { server.signal(SIGTERM) }
        try await server.waitFor("OPE is running at http://127.0.0.1:\(port)")
        try await server.waitFor("bob")
        func token(_ user: String) async throws -> String {
            let result = try await OPEProcess.run(["user", "token", user, "--name", "schemathesis", "--data", data])
            try #require(result.status == 0, "\(result.stderr)")
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        // A live session, so the session routes are tried on one that exists.
        var session = ""
        for user in ["alice", "bob"] {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/lobby/join")!)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.setValue("Bearer \(try await token(user))", forHTTPHeaderField: "Authorization")
            request.httpBody = Data(#"{"module": "python-intro"}"#.utf8)
            let (body, _) = try await URLSession.shared.data(for: request)
            session = (try JSONSerialization.jsonObject(with: body) as? [String: Any])?["session"] as? String ?? session
        }
        try #require(!session.isEmpty, "alice and bob were not matched")

        let result = try await OPEProcess.runProgram(
            schemathesis,
            [
                "--config-file", Self.repository + "/scripts/schemathesis.toml", "run", "http://127.0.0.1:\(port)/api/openapi.json",
                "--max-examples", "\(Self.examples)", "--seed", "1", "--no-color", "--output-truncate", "false",
                // One worker: with several threads hypothesis's lambda descriptions (ast.parse) can trip
                // CPython 3.11's "AST constructor recursion depth mismatch" and end the run.
                "--workers", "1",
            ],
            timeout: .seconds(840), directory: data, environment: ["OPE_TOKEN": try await token("admin"), "OPE_SESSION": session]
        )
        #expect(result.status == 0, "schemathesis found problems:\n\(result.stdout.suffix(12000))\n\(result.stderr.suffix(3000))")
    }
}

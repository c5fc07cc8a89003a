import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import OPECore
import OPEStore
import OPETestSupport
import Testing

@testable import OPEGateway

/// The workspace knows the team: each member reaches JupyterLab under their OPE name, vouched for
/// by the proxy in a header a browser cannot forge; with `roles: {enforce: driver-edits}` only the
/// driver's runs and file changes reach the workspace, and the record says who ran what.
@Suite struct WorkspaceIdentityTests {
    /// python-intro with enforced roles and no bot, in a folder of its own.
    static func enforcedModules() throws -> String {
        let root = NSTemporaryDirectory() + "ope-enforced-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestGateway.examples + "/python-intro", toPath: root + "/python-intro")
        let file = root + "/python-intro/module.yaml"
        let yaml = try String(contentsOfFile: file, encoding: .utf8)
            .replacingOccurrences(of: "roles: [driver, navigator, researcher]", with: "roles: {names: [driver, navigator, researcher], enforce: driver-edits}")
            .replacingOccurrences(of: "plan: bot/guide.yaml\n", with: "")
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        return root
    }

    @Test func membersAreNamedAndOnlyTheDriverRunsCode() async throws {
        let modules = try Self.enforcedModules()
        defer { try? FileManager.default.removeItem(atPath: modules) }
        try await TestGateway.runWithWorkspaces(moduleFolders: [modules]) { client, store, _ in
            let (_, bob, session) = try await client.pair()
            try await waitUntil("the workspace to start", timeout: .seconds(180)) {
                try await !store.reader.events(EventFilter(session: session, types: [.workspaceStarted])).isEmpty
            }
            // JupyterLab knows who is calling; a browser's own identity header changes nothing.
            let forged = WorkspaceIdentityTests.forgedHeaders(bob.headers)
            let me = try await client.get("/w/\(session)/api/me", headers: forged).json()
            let identity = try #require(me["identity"] as? [String: Any], "\(me)")
            #expect(identity["username"] as? String == "bob")
            #expect(identity["display_name"] as? String == "Bob")
            #expect(identity["initials"] as? String == "B")
            #expect((identity["color"] as? String)?.hasPrefix("var(--jp-collaborator-color") == true)

            let port = try #require(client.port)
            let aliceToken = try await Self.token(store, "alice")
            let bobToken = try await Self.token(store, "bob")
            // Bob navigates: his run never reaches the kernel, and his notebook says why.
            let refused = try await KernelRun.run("print('bob was here')", in: session, port: port, token: bobToken)
            #expect(refused["status"] as? String == "error")
            #expect((refused["error"] as? String)?.hasPrefix("ReadOnly: Alice is driving — roles rotate in 10 min") == true, "\(refused)")
            #expect(refused["stdout"] as? String == "")
            // Nor may he change the team's files.
            let upload = try await client.execute(
                uri: "/w/\(session)/api/contents/notes.txt", method: .put, headers: bob.writeHeaders,
                body: .init(string: #"{"type": "file", "format": "text", "content": "hi"}"#))
            #expect(upload.status == .forbidden)
            #expect(String(buffer: upload.body).contains("Alice is driving"))

            // Alice drives: her run works and is recorded with its output and her role.
            let ran = try await KernelRun.run("print(6 * 7)", in: session, port: port, token: aliceToken)
            #expect(ran["status"] as? String == "ok" && ran["stdout"] as? String == "42\n", "\(ran)")
            let runs: @Sendable () async throws -> [Event] = {
                try await store.reader.events(EventFilter(session: session, types: [.workspaceExecuted]))
            }
            try await waitUntil("both runs to be recorded", timeout: .seconds(30)) { try await runs().count >= 2 }
            let recorded = try await runs().compactMap { event in event.decode(ExecutedPayload.self).map { (event.actor, $0) } }
            #expect(recorded.contains { $0.0 == "bob" && $0.1.outcome == "refused" && $0.1.code == "print('bob was here')" && $0.1.role == "navigator" })
            #expect(recorded.contains { $0.0 == "alice" && $0.1.outcome == "ok" && $0.1.output == "42\n" && $0.1.role == "driver" })

            // A rotation moves the keyboard at once: now Bob runs code and Alice cannot.
            let teacher = try await client.login("teacher")
            _ = try await client.execute(uri: "/api/sessions/\(session)/rotate", method: .post, headers: teacher.writeHeaders)
            try await waitUntil("bob to drive", timeout: .seconds(30)) {
                try await KernelRun.run("print('bob drives')", in: session, port: port, token: bobToken)["stdout"] as? String == "bob drives\n"
            }
            let aliceNow = try await KernelRun.run("print('alice')", in: session, port: port, token: aliceToken)
            #expect((aliceNow["error"] as? String)?.hasPrefix("ReadOnly: Bob is driving") == true, "\(aliceNow)")
        }
    }

    /// `headers` plus an identity header and signature of the browser's own making.
    static func forgedHeaders(_ headers: HTTPFields) -> HTTPFields {
        var forged = headers
        let fake = Data(#"{"username":"teacher","display_name":"Teacher","name":"Teacher"}"#.utf8).base64EncodedString()
        forged[HTTPField.Name("X-OPE-Identity")!] = fake
        forged[HTTPField.Name("X-OPE-Identity-Signature")!] = String(repeating: "0", count: 64)
        return forged
    }

    static func token(_ store: Store, _ name: String) async throws -> String {
        let user = try #require(try await store.users.find(name))
        return try await store.tokens.create(for: user, name: "identity", actor: "test").secret
    }

    /// The workspace itself refuses a signature that is not made with its token, and takes a good one.
    @Test func theWorkspaceChecksTheSignature() async throws {
        let python = try TestGateway.venv + "/bin/python"
        let headers = WorkspaceIdentity(user: User(username: "alice", displayName: "Alice Ämmälä", role: .participant), seat: 0, role: "driver")
            .headers(token: "secret-token")
        let script = """
            import asyncio, types
            from ope_workspace.identity import OPEIdentityProvider, sign
            from tornado.httputil import HTTPHeaders
            provider = OPEIdentityProvider(token="secret-token")
            def handler(headers):
                h = types.SimpleNamespace(token="secret-token", request=types.SimpleNamespace(headers=HTTPHeaders(headers)))
                return h
            provider.get_token = lambda h: "secret-token"
            async def main():
                good = "\(headers[0].value)"
                user = await provider.get_user_token(handler({"X-OPE-Identity": good, "X-OPE-Identity-Signature": "\(headers[1].value)"}))
                print("good", user.username, user.display_name, user.role)
                bad = await provider.get_user_token(handler({"X-OPE-Identity": good, "X-OPE-Identity-Signature": "0" * 64}))
                print("bad", bad)
                alone = await provider.get_user_token(handler({}))
                print("alone", alone.username)
            asyncio.run(main())
            """
        let result = try await CommandRunner().run([python, "-c", script], separateErrorOutput: true, timeout: .seconds(60))
        #expect(result.succeeded, "\(result.output)\n\(result.errorOutput)")
        #expect(result.output.contains("good alice Alice Ämmälä driver"), "\(result.output)")
        #expect(result.output.contains("bad None"))
        #expect(result.output.contains("alone ope"))
    }
}

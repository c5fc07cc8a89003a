import Foundation
import OPECore
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A browser-like HTTP client for a server started as a separate process.
struct HTTPUser {
    /// Cookies are handled by hand, one user per value, so no cookie jar is shared.
    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpShouldSetCookies = false
        configuration.httpCookieAcceptPolicy = .never
        return URLSession(configuration: configuration)
    }()

    let base: String
    var cookie = ""
    var csrf = ""

    func call(_ method: String, _ path: String, json: [String: Any]? = nil) async throws -> (status: Int, body: [String: Any]) {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        if !cookie.isEmpty { request.setValue(cookie, forHTTPHeaderField: "Cookie") }
        if !csrf.isEmpty { request.setValue(csrf, forHTTPHeaderField: "X-CSRF-Token") }
        if let json {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
        }
        let (data, response) = try await Self.session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let body = (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
        return (status, body)
    }

    static func signIn(_ username: String, password: String, base: String) async throws -> HTTPUser {
        var request = URLRequest(url: URL(string: base + "/api/auth/login")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: ["username": username, "password": password])
        let (data, response) = try await Self.session.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        #expect(http.statusCode == 200, "sign-in of \(username) failed: \(String(decoding: data, as: UTF8.self))")
        let setCookie = try #require(http.value(forHTTPHeaderField: "Set-Cookie"))
        let body = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return HTTPUser(base: base, cookie: String(setCookie.split(separator: ";")[0]), csrf: body["csrfToken"] as? String ?? "")
    }
}

@Suite struct RestartRecoveryTests {
    @Test func sessionsRolesAndTheLobbySurviveSIGKILL() async throws {
        let data = temporaryFolder("ope-restart")
        defer { try? FileManager.default.removeItem(atPath: data) }
        for name in ["alice", "bob", "carol"] {
            let added = try await OPEProcess.run(["user", "add", name, "--password", "password-\(name)", "--data", data])
            #expect(added.status == 0, "\(added.stderr)")
        }
        let port = try LoopbackPort.free()
        let base = "http://127.0.0.1:\(port)"
        let arguments = ["serve", "--port", "\(port)", "--data", data, "--modules", CLICommandTests.examples, "--workspaces", "none"]

        let first = try OPEProcess.start(arguments)
        try await first.waitFor("OPE is running")
        var alice = try await HTTPUser.signIn("alice", password: "password-alice", base: base)
        let bob = try await HTTPUser.signIn("bob", password: "password-bob", base: base)
        let carol = try await HTTPUser.signIn("carol", password: "password-carol", base: base)
        _ = try await alice.call("POST", "/api/lobby/join", json: ["module": "python-intro"])
        let matched = try await bob.call("POST", "/api/lobby/join", json: ["module": "python-intro"])
        let session = try #require(matched.body["session"] as? String)
        let waiting = try await carol.call("POST", "/api/lobby/join", json: ["module": "sql-joins"])
        #expect(waiting.body["status"] as? String == "waiting")
        // Bob is the navigator if he joined within the module's 5 s settle time, else he joined
        // alice's team late, as its researcher: on a busy machine either can happen. Whichever it
        // was must survive.
        let bobsRole = try #require(try await bob.call("GET", "/api/me").body["role"] as? String)
        #expect(["navigator", "researcher"].contains(bobsRole))
        first.signal(SIGKILL)
        _ = try await first.waitForExit()

        let second = try OPEProcess.start(arguments)
        try await second.waitFor("OPE is running")
        // Sign-in sessions are durable too: the same cookies still work.
        let me = try await alice.call("GET", "/api/me")
        #expect(me.status == 200)
        #expect(me.body["session"] as? String == session)
        #expect(me.body["role"] as? String == "driver")
        let bobMe = try await bob.call("GET", "/api/me")
        #expect(bobMe.body["role"] as? String == bobsRole)
        let carolStatus = try await carol.call("GET", "/api/lobby")
        #expect(carolStatus.body["status"] as? String == "waiting")
        #expect(carolStatus.body["module"] as? String == "sql-joins")
        let detail = try await alice.call("GET", "/api/sessions/\(session)")
        #expect(detail.body["phase"] as? String == "active")
        // Nobody ends up in two sessions: alice cannot join again.
        alice.csrf = me.body["csrfToken"] as? String ?? alice.csrf
        let again = try await alice.call("POST", "/api/lobby/join", json: ["module": "python-intro"])
        #expect(again.status == 409)
        second.signal(SIGTERM)
        #expect(try await second.waitForExit() == 0)
    }
}

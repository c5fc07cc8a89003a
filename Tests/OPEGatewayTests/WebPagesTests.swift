import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import OPECore
import OPEGateway
import OPEStore
import OPETestSupport
import Testing

/// The pages: sign-in with CSRF, redirects that say why, escaping, other teams' sessions, sign-out everywhere.
@Suite struct WebPagesTests {
    struct Page {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: String
        var location: String? { headers[.location] }
        var cookies: [String] { headers[values: .setCookie] }
    }

    static func get(_ client: any TestClientProtocol, _ path: String, cookie: String? = nil) async throws -> Page {
        var headers: HTTPFields = [:]
        if let cookie { headers[.cookie] = cookie }
        let response = try await client.execute(uri: path, method: .get, headers: headers)
        return Page(status: response.status, headers: response.headers, body: String(buffer: response.body))
    }

    static func post(_ client: any TestClientProtocol, _ path: String, form: [String: String], cookie: String? = nil, origin: String? = nil) async throws
        -> Page
    {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let cookie { headers[.cookie] = cookie }
        if let origin { headers[.origin] = origin }
        let body = form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        let response = try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
        return Page(status: response.status, headers: response.headers, body: String(buffer: response.body))
    }

    static func field(_ name: String, in html: String) -> String? {
        guard let range = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    /// Signs in through the form; returns the session cookie and the page's CSRF token.
    static func signIn(_ client: any TestClientProtocol, _ user: String) async throws -> (cookie: String, csrf: String) {
        let form = try await get(client, "/login")
        let token = try #require(field("_csrf", in: form.body))
        let loginCookie = try #require(form.cookies.first { $0.hasPrefix("ope_login=") }?.split(separator: ";").first.map(String.init))
        let signedIn = try await post(
            client, "/login", form: ["_csrf": token, "username": user, "password": TestGateway.password, "next": "/"], cookie: loginCookie)
        #expect(signedIn.status == .seeOther, "sign-in failed: \(signedIn.body)")
        let cookie = try #require(signedIn.cookies.first { $0.hasPrefix("ope_session=") }?.split(separator: ";").first.map(String.init))
        let home = try await get(client, "/", cookie: cookie)
        return (cookie, try #require(field("_csrf", in: home.body)))
    }

    @Test func signInNeedsTheFormTokenAndSaysWhatWentWrong() async throws {
        try await TestGateway.run { client, _ in
            let anonymous = try await Self.get(client, "/")
            #expect(anonymous.status == .seeOther && anonymous.location == "/login?next=%2F")
            let form = try await Self.get(client, "/login")
            #expect(form.status == .ok)
            let policy = try #require(form.headers[.contentSecurityPolicy])
            #expect(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'self'") && !policy.contains("unsafe-inline"))
            let token = try #require(Self.field("_csrf", in: form.body))
            let loginCookie = try #require(form.cookies.first?.split(separator: ";").first.map(String.init))

            let forged = try await Self.post(
                client, "/login", form: ["_csrf": "forged", "username": "alice", "password": TestGateway.password], cookie: loginCookie)
            #expect(forged.status == .forbidden && forged.body.contains("The sign-in page was out of date"))
            let wrong = try await Self.post(client, "/login", form: ["_csrf": token, "username": "alice", "password": "nope"], cookie: loginCookie)
            #expect(wrong.status == .unauthorized && wrong.body.contains("Wrong username or password."))
            #expect(wrong.body.contains("value=\"alice\""), "the username stays filled in")
            let evil = try await Self.post(
                client, "/login", form: ["_csrf": token, "username": "alice", "password": TestGateway.password, "next": "//evil.example/"], cookie: loginCookie)
            #expect(evil.status == .seeOther && evil.location == "/", "no redirect to another site")
            // What a browser would read as another site, however it is dressed up (WHATWG URL parsing
            // drops tabs and line breaks, trims control characters and spaces, reads \ as /).
            for confusing in [
                "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "\t//evil.example", " //evil.example", "/\\evil.example",
                "\\\\evil.example", "https://evil.example", "javascript:alert(1)", "/\u{0}/evil.example",
            ] {
                let form = try await Self.get(client, "/login")
                let token = try #require(Self.field("_csrf", in: form.body))
                let cookie = try #require(form.cookies.first?.split(separator: ";").first.map(String.init))
                let answer = try await Self.post(
                    client, "/login", form: ["_csrf": token, "username": "alice", "password": TestGateway.password, "next": confusing], cookie: cookie)
                #expect(
                    answer.status == .seeOther && answer.location == "/", "next=\(confusing.debugDescription) sent the browser to \(answer.location ?? "?")")
            }
            let form2 = try await Self.get(client, "/login")
            let ownPath = try await Self.post(
                client, "/login",
                form: [
                    "_csrf": try #require(Self.field("_csrf", in: form2.body)), "username": "alice", "password": TestGateway.password, "next": " /lobby?x=1",
                ],
                cookie: try #require(form2.cookies.first?.split(separator: ";").first.map(String.init))
            )
            #expect(ownPath.location == "/lobby?x=1", "a path of our own is kept")

            let expired = try await Self.get(client, "/lobby", cookie: "ope_session=expired-or-forged")
            #expect(expired.location == "/login?expired=1&next=%2Flobby")
            let notice = try await Self.get(client, "/login?expired=1", cookie: "ope_session=expired-or-forged")
            #expect(notice.body.contains("Your sign-in has expired. Please sign in again."))
        }
    }

    /// Login CSRF: another site's form, a planted cookie with a matching field, a stale form.
    @Test func theSignInFormTakesOnlyItsOwnFreshSignedToken() async throws {
        let clock = ManualClock()
        try await TestGateway.run(clock: clock) { client, _ in
            let form = try await Self.get(client, "/login")
            let token = try #require(Self.field("_csrf", in: form.body))
            let cookie = try #require(form.cookies.first?.split(separator: ";").first.map(String.init))
            let credentials = ["_csrf": token, "username": "alice", "password": TestGateway.password]
            let foreign = try await Self.post(client, "/login", form: credentials, cookie: cookie, origin: "https://evil.example")
            #expect(foreign.status == .forbidden && foreign.body.contains("another site"), "\(foreign.status) \(foreign.body.prefix(200))")
            // A cookie planted by a neighbouring site with a matching field: double submit alone took it.
            let planted = "attacker-chosen-value"
            let forged = try await Self.post(
                client, "/login", form: ["_csrf": planted, "username": "alice", "password": TestGateway.password], cookie: "ope_login=\(planted)")
            #expect(forged.status == .forbidden && forged.body.contains("out of date"), "a planted cookie signed someone in")
            // A form left open for more than its hour asks to be sent again.
            clock.advance(by: .seconds(3601))
            let stale = try await Self.post(client, "/login", form: credentials, cookie: cookie)
            #expect(stale.status == .forbidden && stale.body.contains("out of date"))
            // A fresh form from our own page signs in (the browser journey posts it with our own Origin).
            let fresh = try await Self.get(client, "/login")
            let signedIn = try await Self.post(
                client, "/login", form: ["_csrf": try #require(Self.field("_csrf", in: fresh.body)), "username": "alice", "password": TestGateway.password],
                cookie: try #require(fresh.cookies.first?.split(separator: ";").first.map(String.init))
            )
            #expect(signedIn.status == .seeOther, "\(signedIn.status) \(signedIn.body.prefix(200))")
        }
    }

    @Test func joiningTwiceIsHarmlessAndOtherTeamsSessionsAreRefusedInWords() async throws {
        try await TestGateway.run { client, store in
            let alice = try await Self.signIn(client, "alice")
            let noToken = try await Self.post(client, "/join", form: ["module": "python-intro"], cookie: alice.cookie)
            #expect(noToken.status == .forbidden && noToken.body.contains("Reload the page and try again"))
            let joined = try await Self.post(client, "/join", form: ["_csrf": alice.csrf, "module": "python-intro"], cookie: alice.cookie)
            #expect(joined.location == "/lobby")
            let again = try await Self.post(client, "/join", form: ["_csrf": alice.csrf, "module": "python-intro"], cookie: alice.cookie)
            #expect(again.location == "/lobby", "a double submit lands in the same queue")
            // The server's clock stands still, so the settle time never forms a group of one for
            // alice here, however slowly these steps run: she waits until bob comes.
            let lobby = try await Self.get(client, "/lobby", cookie: alice.cookie)
            #expect(lobby.body.contains("You are number <span id=\"position\">1</span>"))
            let closed = try await Self.post(client, "/join", form: ["_csrf": alice.csrf, "module": "no-such-module"], cookie: alice.cookie)
            #expect(closed.status == .conflict && closed.body.contains("You could not join: no module"), "\(closed.status) \(closed.body.suffix(500))")

            let bob = try await Self.signIn(client, "bob")
            let matched = try await Self.post(client, "/join", form: ["_csrf": bob.csrf, "module": "python-intro"], cookie: bob.cookie)
            let sessionPath = try #require(matched.location)
            #expect(sessionPath.hasPrefix("/sessions/s-"))
            let page = try await Self.get(client, sessionPath, cookie: alice.cookie)
            #expect(page.status == .ok && page.body.contains("data-user=\"bob\""))

            let carol = try await Self.signIn(client, "carol")
            let refused = try await Self.get(client, sessionPath, cookie: carol.cookie)
            #expect(refused.status == .forbidden && refused.body.contains("This is another team"))
            let missing = try await Self.get(client, "/sessions/s-nothere", cookie: carol.cookie)
            #expect(missing.status == .notFound && missing.body.contains("There is no session"))
            let dashboard = try await Self.get(client, "/instructor", cookie: carol.cookie)
            #expect(dashboard.status == .forbidden && dashboard.body.contains("The dashboard is for instructors"))
            _ = store
        }
    }

    @Test func peoplesTextIsEscapedAndSigningOutEndsEverySignIn() async throws {
        try await TestGateway.run { client, store in
            try await store.users.create(
                User(username: "mallory", displayName: "<script>alert(1)</script>", role: .participant), password: TestGateway.password, actor: "test")
            let first = try await Self.signIn(client, "mallory")
            let second = try await Self.signIn(client, "mallory")
            let home = try await Self.get(client, "/", cookie: first.cookie)
            #expect(!home.body.contains("<script>alert(1)"))
            #expect(home.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;") || home.body.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"))
            let out = try await Self.post(client, "/logout", form: ["_csrf": first.csrf], cookie: first.cookie)
            #expect(out.location == "/login?signedOut=1")
            let otherWindow = try await Self.get(client, "/", cookie: second.cookie)
            #expect(otherWindow.location?.hasPrefix("/login?expired=1") == true, "the other sign-in ended too")
            let script = try await Self.get(client, "/static/session.js")
            #expect(script.status == .ok && script.body.contains("textContent"))
        }
    }

    @Test func refusalsCarryTheSecurityHeadersToo() async throws {
        try await TestGateway.run { client, _ in
            let answers = [
                try await client.get("/api/me"),  // 401
                try await client.get("/no-such-page"),  // 404
                try await client.get("/api/sessions/nope", headers: try await client.login("alice").headers),  // 404 from a handler
                try await client.get("/w/s-nope/lab"),  // the proxy's 401
            ]
            for answer in answers {
                #expect(answer.status.code >= 400)
                #expect(answer.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(answer.status) lacks nosniff")
                #expect(answer.headers[HTTPField.Name("Referrer-Policy")!] == "same-origin", "\(answer.status) lacks Referrer-Policy")
            }
            #expect(answers[0].headers[.contentSecurityPolicy]?.contains("default-src 'self'") == true, "a 401 lacks the CSP")
            #expect(answers[1].headers[.contentSecurityPolicy] != nil, "a 404 lacks the CSP")
        }
    }

    @Test func moduleMarkdownCannotCarryMarkup() {
        let renderer = MarkdownRenderer().html(
            "# Title\n\nSome *text* <script>alert(1)</script> and [a link](javascript:alert(1)) and [ok](https://example.org).\n\n<img src=x onerror=alert(1)>")
        #expect(renderer.contains("<h1>Title</h1>") && renderer.contains("<em>text</em>"))
        #expect(!renderer.contains("<script"))
        #expect(!renderer.contains("javascript:"))
        #expect(!renderer.contains("onerror"))
        #expect(renderer.contains("href=\"https://example.org\""))
    }
}

/// The dashboard's API: the queue, hints to one team or all, and how each team is doing.
@Suite struct DashboardAPITests {
    @Test func instructorsSeeTheQueueAndTeamsAndSendHints() async throws {
        try await TestGateway.run { client, store in
            let carol = try await client.login("carol")
            _ = try await client.post("/api/lobby/join", json: ["module": "sql-joins"], headers: carol.writeHeaders)
            let teacher = try await client.login("teacher")
            let queue = try await client.get("/api/lobby/queue", headers: teacher.headers).jsonArray()
            let waiting = try #require(queue.first { $0["module"] as? String == "sql-joins" }?["waiting"] as? [[String: Any]])
            #expect(waiting.first?["username"] as? String == "carol" && waiting.first?["position"] as? Int == 1)
            #expect(try await client.get("/api/lobby/queue", headers: carol.headers).status == .forbidden)

            let (alice, _, session) = try await client.pair()
            for _ in 0..<3 {
                _ = try await store.events.append(
                    EventDraft(type: .testResult, actor: "alice", session: session, payload: ["task": "text-stats", "passed": false]))
            }
            let teams = try await client.get("/api/sessions", headers: teacher.headers).jsonArray()
            let team = try #require(teams.first { $0["id"] as? String == session })
            let activity = try #require(team["activity"] as? [String: Any])
            #expect(activity["tests"] as? [String: Bool] == ["text-stats": false])
            #expect(activity["stuck"] as? String == "3 failed test runs in a row")
            #expect(activity["lastActivity"] is String)

            let room = RoomClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await room.run(client, path: "/api/sessions/\(session)/ws", cookie: alice.cookie) }
                _ = try await room.inbox.waitFor(type: "synced")
                let one = try await client.post(
                    "/api/sessions/\(session)/hint", json: ["text": "Look at <the> first failing test"], headers: teacher.writeHeaders)
                #expect(one.status == .noContent)
                let hint = try await room.inbox.waitFor(type: "hint")
                #expect(hint["from"] as? String == "teacher" && hint["text"] as? String == "Look at <the> first failing test")
                let all = try await client.post("/api/hints", json: ["text": "Ten minutes left"], headers: teacher.writeHeaders).json()
                #expect(all["sent"] as? Int == 1)
                _ = try await room.inbox.waitFor("the hint to all") { $0["type"] as? String == "hint" && $0["text"] as? String == "Ten minutes left" }
                let empty = try await client.post("/api/sessions/\(session)/hint", json: ["text": "  "], headers: teacher.writeHeaders)
                #expect(empty.status == .badRequest && empty.errorMessage == "a hint needs 1 to 1000 characters")
                let byStudent = try await client.post("/api/sessions/\(session)/hint", json: ["text": "hi"], headers: alice.writeHeaders)
                #expect(byStudent.status == .forbidden)
                room.close()
                try await group.waitForAll()
            }
        }
    }
}

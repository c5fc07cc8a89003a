import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OPECore
import OPEStore
import Testing

@Suite struct AuthTests {
    @Test func loginSetsASafeCookieAndMeAnswers() async throws {
        try await TestGateway.run { client, _ in
            let response = try await client.post("/api/auth/login", json: ["username": "alice", "password": TestGateway.password])
            #expect(response.status == .ok)
            let cookie = try #require(response.headers[.setCookie])
            #expect(cookie.hasPrefix("ope_session="))
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Lax"))
            #expect(!cookie.contains("Secure"), "plain-HTTP deployments cannot use Secure cookies")
            let browser = try await client.login("alice")
            let me = try await client.get("/api/me", headers: browser.headers).json()
            #expect(me["username"] as? String == "alice")
            #expect(me["displayName"] as? String == "Alice")
            #expect(me["role"] as? String == "participant")
            #expect(me["csrfToken"] as? String == browser.csrf)
        }
    }

    @Test func badCredentialsAre401WithAnError() async throws {
        try await TestGateway.run { client, store in
            let wrong = try await client.post("/api/auth/login", json: ["username": "alice", "password": "nope-nope"])
            #expect(wrong.status == .unauthorized)
            #expect(wrong.errorMessage == "wrong username or password")
            let unknown = try await client.post("/api/auth/login", json: ["username": "nobody", "password": "nope-nope"])
            #expect(unknown.status == .unauthorized)
            #expect(unknown.errorMessage == "wrong username or password")
            let events = try await store.reader.events(EventFilter())
            #expect(events.filter { $0.type == .userSignInFailed }.count == 2)
            let me = try await client.get("/api/me")
            #expect(me.status == .unauthorized)
            #expect(me.errorMessage == "sign in first")
        }
    }

    @Test func malformedBodiesAre4xxWithWords() async throws {
        try await TestGateway.run { client, _ in
            let missing = try await client.post("/api/auth/login", json: ["username": "alice"])
            #expect(missing.status == .badRequest)
            #expect(missing.errorMessage == "field 'password' is missing")
            let wrongType = try await client.post("/api/auth/login", json: ["username": 5, "password": "x"])
            #expect(wrongType.errorMessage == "field 'username' must be a string")
            let garbage = try await client.execute(
                uri: "/api/auth/login", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{not json")
            )
            #expect(garbage.status == .badRequest)
            #expect(garbage.errorMessage == "the body is not valid JSON")
            let form = try await client.execute(
                uri: "/api/auth/login", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(string: "x")
            )
            #expect(form.status == .unsupportedMediaType)
            let huge = try await client.execute(
                uri: "/api/auth/login", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: "{\"username\":\"" + String(repeating: "a", count: 100_000) + "\"}")
            )
            #expect(huge.status == .contentTooLarge)
            let notFound = try await client.get("/api/nothing-here")
            #expect(notFound.status == .notFound)
            #expect(notFound.errorMessage == "no such endpoint: GET /api/nothing-here")
        }
    }

    @Test func stateChangesWithACookieNeedTheCSRFToken() async throws {
        try await TestGateway.run { client, _ in
            let browser = try await client.login("alice")
            let without = try await client.post("/api/tokens", json: ["name": "x"], headers: [.cookie: browser.cookie, .contentType: "application/json"])
            #expect(without.status == .forbidden)
            #expect(without.errorMessage?.contains("missing CSRF token") == true)
            var wrong = browser.writeHeaders
            wrong[HTTPField.Name("X-CSRF-Token")!] = "forged"
            #expect(try await client.post("/api/tokens", json: ["name": "x"], headers: wrong).status == .forbidden)
            let with = try await client.post("/api/tokens", json: ["name": "x"], headers: browser.writeHeaders)
            #expect(with.status == .created)
            // Signing in again (as someone else) from a signed-in browser needs no token.
            let switched = try await client.post(
                "/api/auth/login", json: ["username": "teacher", "password": TestGateway.password],
                headers: [.cookie: browser.cookie, .contentType: "application/json"]
            )
            #expect(switched.status == .ok)
        }
    }

    @Test func crossOriginRequestsAreRefused() async throws {
        try await TestGateway.run { client, _ in
            let login = try await client.post(
                "/api/auth/login", json: ["username": "alice", "password": TestGateway.password],
                headers: [.contentType: "application/json", .origin: "https://evil.example"]
            )
            #expect(login.status == .forbidden)
            #expect(login.errorMessage == "cross-origin request from https://evil.example refused")
            let sameOrigin = try await client.post(
                "/api/auth/login", json: ["username": "alice", "password": TestGateway.password],
                headers: [.contentType: "application/json", .origin: "http://localhost"]
            )
            #expect(sameOrigin.status == .ok)
        }
    }

    @Test func apiTokensAuthenticateScriptsWithoutCSRF() async throws {
        try await TestGateway.run { client, _ in
            let browser = try await client.login("teacher")
            let created = try await client.post("/api/tokens", json: ["name": "grading script"], headers: browser.writeHeaders).json()
            let token = try #require(created["token"] as? String)
            #expect(token.hasPrefix("ope_"))
            let me = try await client.get("/api/me", headers: [.authorization: "Bearer \(token)"]).json()
            #expect(me["username"] as? String == "teacher")
            #expect(me["csrfToken"] == nil)
            let bad = try await client.get("/api/me", headers: [.authorization: "Bearer ope_forged"])
            #expect(bad.status == .unauthorized)
            let basic = try await client.get("/api/me", headers: [.authorization: "Basic abc"])
            #expect(basic.status == .unauthorized)
        }
    }

    @Test func repeatedFailuresAreRateLimitedPerUser() async throws {
        try await TestGateway.run { client, _ in
            for _ in 0..<5 {
                let response = try await client.post("/api/auth/login", json: ["username": "alice", "password": "guess-guess"])
                #expect(response.status == .unauthorized)
            }
            // Even the right password is refused now, with a time to wait.
            let limited = try await client.post("/api/auth/login", json: ["username": "alice", "password": TestGateway.password])
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter].flatMap(Int.init).map { $0 > 0 && $0 <= 300 } == true)
            #expect(limited.errorMessage?.hasPrefix("too many failed sign-ins") == true)
            // Another user is not affected.
            #expect(try await client.post("/api/auth/login", json: ["username": "teacher", "password": TestGateway.password]).status == .ok)
        }
    }

    @Test func logoutEndsTheSessionAndEverywhereEndsAll() async throws {
        try await TestGateway.run { client, store in
            let first = try await client.login("alice")
            let second = try await client.login("alice")
            let out = try await client.execute(uri: "/api/auth/logout", method: .post, headers: first.writeHeaders)
            #expect(out.status == .noContent)
            #expect(out.headers[.setCookie]?.contains("Max-Age=0") == true)
            #expect(try await client.get("/api/me", headers: first.headers).status == .unauthorized)
            #expect(try await client.get("/api/me", headers: second.headers).status == .ok)
            let third = try await client.login("alice")
            let all = try await client.post("/api/auth/logout", json: ["everywhere": true], headers: third.writeHeaders)
            #expect(all.status == .noContent)
            #expect(try await client.get("/api/me", headers: second.headers).status == .unauthorized)
            let types = try await store.reader.events(EventFilter()).map(\.type)
            #expect(types.filter { $0 == .userSignedIn }.count == 3)
            #expect(types.filter { $0 == .userSignedOut }.count == 2)
        }
    }
}

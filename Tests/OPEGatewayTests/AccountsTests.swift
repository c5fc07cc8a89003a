import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import OPECore
import OPEGateway
import OPERuntime
import OPEStore
import OPETestSupport
import Testing

/// API tokens (list, expiry, revocation), sign-out everywhere reaching open sockets, and the
/// admin's account management through the JSON API.
@Suite struct AccountsTests {
    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    static func send(
        _ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, json: [String: Any]? = nil, headers: HTTPFields
    ) async throws -> TestResponse {
        let body = try json.map { ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: $0)) }
        return try await client.execute(uri: uri, method: method, headers: headers, body: body)
    }

    @Test func tokensAreListedWithoutSecretsAndARevokedOneIsRefusedAtOnce() async throws {
        try await TestGateway.run { client, store in
            let alice = try await client.login("alice")
            let created = try await client.post("/api/tokens", json: ["name": "notebook sync", "expiresInDays": 30], headers: alice.writeHeaders)
            #expect(created.status == .created)
            let body = try created.json()
            let token = try #require(body["token"] as? String)
            let id = try #require(body["id"] as? String)
            let expires = try #require((body["expiresAt"] as? String).flatMap { try? Date($0, strategy: .iso8601) })
            #expect(abs(expires.timeIntervalSinceNow - 30 * 86400) < 3600)
            #expect(try await client.get("/api/me", headers: Self.bearer(token)).status == .ok)

            let listed = try await client.get("/api/tokens", headers: alice.headers)
            #expect(listed.status == .ok)
            #expect(!String(buffer: listed.body).contains(token), "the list shows a token's secret")
            let entry = try #require(try listed.jsonArray().first)
            #expect(entry["id"] as? String == id && entry["name"] as? String == "notebook sync" && entry["expired"] as? Bool == false)
            #expect(entry["createdAt"] is String && entry["lastUsed"] is String)

            // Nobody else's to see or revoke; admins see and revoke anyone's.
            let bob = try await client.login("bob")
            #expect(try await client.get("/api/tokens", headers: bob.headers).jsonArray().isEmpty)
            #expect(try await client.get("/api/tokens?user=alice", headers: bob.headers).status == .forbidden)
            #expect(try await client.get("/api/tokens?all=true", headers: bob.headers).status == .forbidden)
            let foreign = try await Self.send(client, .delete, "/api/tokens/\(id)", headers: bob.writeHeaders)
            #expect(foreign.status == .notFound && foreign.errorMessage?.contains(id) == true)
            let root = try await client.login("root")
            #expect(try await client.get("/api/tokens?user=alice", headers: root.headers).jsonArray().count == 1)
            #expect(try await client.get("/api/tokens?all=true", headers: root.headers).jsonArray().count == 1)
            #expect(try await client.get("/api/tokens?user=nobody", headers: root.headers).status == .notFound)

            // Bad input is refused in words.
            let tooLong = try await client.post("/api/tokens", json: ["name": "x", "expiresInDays": 400], headers: alice.writeHeaders)
            #expect(tooLong.status == .badRequest && tooLong.errorMessage?.contains("expiresInDays") == true)
            #expect(try await client.post("/api/tokens", json: ["name": "x", "expiresInDays": 0], headers: alice.writeHeaders).status == .badRequest)

            let revoked = try await Self.send(client, .delete, "/api/tokens/\(id)", headers: alice.writeHeaders)
            #expect(revoked.status == .noContent)
            let refused = try await client.get("/api/me", headers: Self.bearer(token))
            #expect(refused.status == .unauthorized && refused.errorMessage?.contains("revoked") == true)
            #expect(try await client.get("/api/tokens", headers: alice.headers).jsonArray().isEmpty)
            #expect(try await Self.send(client, .delete, "/api/tokens/\(id)", headers: alice.writeHeaders).status == .notFound)
            let types = try await store.reader.events(EventFilter(types: [.tokenCreated, .tokenRevoked])).map(\.type)
            #expect(types == [.tokenCreated, .tokenRevoked])
        }
    }

    @Test func aTokenStopsWorkingWhenItExpires() async throws {
        let clock = ManualClock()
        try await TestGateway.run(clock: clock) { client, _ in
            let alice = try await client.login("alice")
            let token = try #require(
                try await client.post("/api/tokens", json: ["name": "short", "expiresInDays": 1], headers: alice.writeHeaders).json()["token"] as? String)
            clock.advance(by: .seconds(86400 - 60))
            #expect(try await client.get("/api/me", headers: Self.bearer(token)).status == .ok)
            clock.advance(by: .seconds(61))
            let expired = try await client.get("/api/me", headers: Self.bearer(token))
            #expect(expired.status == .unauthorized && expired.errorMessage?.contains("expired") == true)
            // Still listed, marked expired, until it is revoked.
            let listed = try await client.get("/api/tokens", headers: alice.headers).jsonArray()
            #expect(listed.count == 1 && listed.first?["expired"] as? Bool == true)
        }
    }

    @Test func signOutEverywhereCanRevokeTheTokensToo() async throws {
        try await TestGateway.run { client, _ in
            let teacher = try await client.login("teacher")
            let token = try #require(try await client.post("/api/tokens", json: ["name": "grading"], headers: teacher.writeHeaders).json()["token"] as? String)
            let other = try await client.login("teacher")
            // Without revokeTokens the token outlives the sign-out, as before.
            #expect(try await client.post("/api/auth/logout", json: ["everywhere": true], headers: other.writeHeaders).status == .noContent)
            #expect(try await client.get("/api/me", headers: Self.bearer(token)).status == .ok)
            let again = try await client.login("teacher")
            let bad = try await client.post("/api/auth/logout", json: ["revokeTokens": true], headers: again.writeHeaders)
            #expect(bad.status == .badRequest && bad.errorMessage?.contains("everywhere") == true)
            #expect(
                try await client.post("/api/auth/logout", json: ["everywhere": true, "revokeTokens": true], headers: again.writeHeaders).status == .noContent)
            #expect(try await client.get("/api/me", headers: Self.bearer(token)).status == .unauthorized)
            #expect(try await client.get("/api/me", headers: again.headers).status == .unauthorized)
        }
    }

    /// The socket closes because the sign-out is pushed to it, not because the periodic credential
    /// check found it: the test's clock stands still, so that check never runs here. (How soon is
    /// not measured in real time: on a busy machine the sign-out request itself can take seconds.)
    @Test func signingOutEverywhereClosesTheOtherWindowsRoomSocketAtOnce() async throws {
        try await TestGateway.run { client, _ in
            let (alice, _, session) = try await client.pair()
            let room = RoomClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await room.run(client, path: "/api/sessions/\(session)/ws", cookie: alice.cookie) }
                _ = try await room.inbox.waitFor(type: "synced")
                // Another window of alice's signs out everywhere.
                let elsewhere = try await client.login("alice")
                #expect(try await client.post("/api/auth/logout", json: ["everywhere": true], headers: elsewhere.writeHeaders).status == .noContent)
                let notice = try await room.inbox.waitFor(type: "signed_out")
                #expect((notice["message"] as? String)?.contains("sign in again") == true)
                try await waitUntil("the room socket closed") { await room.inbox.closed }
                try await group.waitForAll()
            }
            // Chat sent after that would need a new socket, which the ended sign-in cannot open.
            await #expect(throws: (any Error).self) {
                try await RoomClient().run(client, path: "/api/sessions/\(session)/ws", cookie: alice.cookie)
            }
        }
    }

    @Test func disablingAnAccountClosesItsRoomSocketAndRefusesItsTokens() async throws {
        try await TestGateway.run { client, _ in
            let (alice, bob, session) = try await client.pair()
            let token = try #require(try await client.post("/api/tokens", json: ["name": "t"], headers: alice.writeHeaders).json()["token"] as? String)
            let aliceRoom = RoomClient()
            let bobRoom = RoomClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await aliceRoom.run(client, path: "/api/sessions/\(session)/ws", cookie: alice.cookie) }
                group.addTask { try await bobRoom.run(client, path: "/api/sessions/\(session)/ws", cookie: bob.cookie) }
                _ = try await aliceRoom.inbox.waitFor(type: "synced")
                _ = try await bobRoom.inbox.waitFor(type: "synced")
                let root = try await client.login("root")
                let disabled = try await Self.send(client, .patch, "/api/users/alice", json: ["disabled": true], headers: root.writeHeaders)
                #expect(disabled.status == .ok)
                #expect(try disabled.json()["disabled"] as? Bool == true)
                _ = try await aliceRoom.inbox.waitFor(type: "signed_out", timeout: .seconds(5))
                try await waitUntil("alice's socket closed", timeout: .seconds(5)) { await aliceRoom.inbox.closed }
                // Bob's is another sign-in: it stays open.
                #expect(await !bobRoom.inbox.closed)
                bobRoom.close()
                try await group.waitForAll()
            }
            #expect(try await client.get("/api/me", headers: alice.headers).status == .unauthorized)
            #expect(try await client.get("/api/me", headers: Self.bearer(token)).status == .unauthorized)
            let signIn = try await client.post("/api/auth/login", json: ["username": "alice", "password": TestGateway.password])
            #expect(signIn.status == .unauthorized)
            // Enabled again: the token works again, the old sign-in does not come back.
            let root = try await client.login("root")
            #expect(try await Self.send(client, .patch, "/api/users/alice", json: ["disabled": false], headers: root.writeHeaders).status == .ok)
            #expect(try await client.get("/api/me", headers: Self.bearer(token)).status == .ok)
            #expect(try await client.get("/api/me", headers: alice.headers).status == .unauthorized)
            _ = try await client.login("alice")
        }
    }

    @Test func adminsCreateChangeAndResetAccountsWithClearRefusals() async throws {
        try await TestGateway.run { client, store in
            let root = try await client.login("root")
            // Created with a generated password, shown once.
            let created = try await client.post(
                "/api/users", json: ["username": "dana", "displayName": "Dana D", "role": "instructor"], headers: root.writeHeaders)
            #expect(created.status == .created)
            let password = try #require(try created.json()["password"] as? String)
            _ = try await client.login("dana", password)
            #expect(
                try await client.get("/api/users", headers: root.headers).jsonArray().contains {
                    $0["username"] as? String == "dana" && $0["disabled"] as? Bool == false
                })

            let duplicate = try await client.post("/api/users", json: ["username": "dana"], headers: root.writeHeaders)
            #expect(duplicate.status == .conflict && duplicate.errorMessage == "user 'dana' already exists")
            let badRole = try await client.post("/api/users", json: ["username": "erin", "role": "boss"], headers: root.writeHeaders)
            #expect(badRole.status == .badRequest && badRole.errorMessage?.contains("unknown role 'boss'") == true)
            let badName = try await client.post("/api/users", json: ["username": "Bad Name"], headers: root.writeHeaders)
            #expect(badName.status == .badRequest && badName.errorMessage?.contains("invalid username") == true)

            // Role changes; unknown users and roles are refused.
            let promoted = try await Self.send(client, .patch, "/api/users/dana", json: ["role": "admin"], headers: root.writeHeaders)
            #expect(promoted.status == .ok)
            #expect(try promoted.json()["role"] as? String == "admin")
            #expect(try await Self.send(client, .patch, "/api/users/nobody", json: ["role": "admin"], headers: root.writeHeaders).status == .notFound)
            #expect(try await Self.send(client, .patch, "/api/users/dana", json: ["role": "king"], headers: root.writeHeaders).status == .badRequest)
            #expect(try await Self.send(client, .patch, "/api/users/dana", json: [:], headers: root.writeHeaders).status == .badRequest)

            // An admin cannot disable themselves, nor leave the platform without an enabled admin.
            let selfDisable = try await Self.send(client, .patch, "/api/users/root", json: ["disabled": true], headers: root.writeHeaders)
            #expect(selfDisable.status == .conflict && selfDisable.errorMessage?.contains("your own account") == true)
            #expect(try await Self.send(client, .patch, "/api/users/dana", json: ["disabled": true], headers: root.writeHeaders).status == .ok)
            let lastAdmin = try await Self.send(client, .patch, "/api/users/root", json: ["role": "participant"], headers: root.writeHeaders)
            #expect(lastAdmin.status == .conflict && lastAdmin.errorMessage?.contains("last admin") == true)
            #expect(try await store.users.find("root")?.role == .admin)

            // A reset password ends the account's sign-ins; the new one works.
            let bob = try await client.login("bob")
            let reset = try await client.post("/api/users/bob/password", json: [:], headers: root.writeHeaders)
            #expect(reset.status == .ok)
            let newPassword = try #require(try reset.json()["password"] as? String)
            #expect(try await client.get("/api/me", headers: bob.headers).status == .unauthorized)
            #expect(try await client.post("/api/auth/login", json: ["username": "bob", "password": TestGateway.password]).status == .unauthorized)
            _ = try await client.login("bob", newPassword)
            let short = try await client.post("/api/users/bob/password", json: ["password": "short"], headers: root.writeHeaders)
            #expect(short.status == .badRequest && short.errorMessage?.contains("8 characters") == true)
            #expect(try await client.post("/api/users/nobody/password", json: [:], headers: root.writeHeaders).status == .notFound)

            // Only admins manage accounts.
            let teacher = try await client.login("teacher")
            #expect(try await client.post("/api/users", json: ["username": "x1"], headers: teacher.writeHeaders).status == .forbidden)
            #expect(try await Self.send(client, .patch, "/api/users/alice", json: ["disabled": true], headers: teacher.writeHeaders).status == .forbidden)
            let types = try await store.reader.events(EventFilter(types: [.userUpdated, .userDisabled, .userPasswordReset])).map(\.type)
            #expect(types == [.userUpdated, .userDisabled, .userPasswordReset])
        }
    }

    @Test func aRosterImportCreatesAccountsAndNamesTheBadLine() async throws {
        try await TestGateway.run { client, store in
            let root = try await client.login("root")
            var headers = root.writeHeaders
            headers[.contentType] = "text/csv"
            func upload(_ csv: String) async throws -> TestResponse {
                try await client.execute(uri: "/api/users/import", method: .post, headers: headers, body: ByteBuffer(string: csv))
            }
            let imported = try await upload("username,display name,role\nann,\"Ann, the first\",participant\nalice,Alice,\ntina,Tina,instructor\n")
            #expect(imported.status == .created, "\(String(buffer: imported.body))")
            let body = try imported.json()
            let created = try #require(body["created"] as? [[String: Any]])
            #expect(created.compactMap { $0["username"] as? String } == ["ann", "tina"])
            #expect(body["existing"] as? [String] == ["alice"])
            let annPassword = try #require(created.first?["password"] as? String)
            #expect(try await store.users.authenticate(username: "ann", password: annPassword)?.displayName == "Ann, the first")

            let badRole = try await upload("bo,Bo,participant\ncy,Cy,wizard\n")
            #expect(
                badRole.status == .badRequest && badRole.errorMessage?.contains("roster.csv:2: unknown role 'wizard'") == true, "\(badRole.errorMessage ?? "")")
            let badName = try await upload("username\nok-name\nNot OK\n")
            #expect(badName.status == .badRequest && badName.errorMessage?.contains("roster.csv:3") == true, "\(badName.errorMessage ?? "")")
            let empty = try await upload("username,display name,role\n")
            #expect(empty.status == .badRequest && empty.errorMessage?.contains("no accounts") == true)
            // Nothing of a refused file was created.
            #expect(try await store.users.find("bo") == nil)
        }
    }
}

extension AccountsTests {
    /// Another process on the same data dir (the CLI, or another gateway) ends a sign-in: no
    /// notification reaches this server, and its periodic check closes the socket.
    @Test func aSignInEndedByAnotherProcessClosesItsRoomSocketAtTheNextCheck() async throws {
        let clock = ManualClock()
        try await TestGateway.runWithGateway(clock: clock) { client, store, gateway in
            let (alice, _, session) = try await client.pair()
            let room = RoomClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await room.run(client, path: "/api/sessions/\(session)/ws", cookie: alice.cookie) }
                _ = try await room.inbox.waitFor(type: "synced")
                let other = try Store(dataDirectory: store.dataDirectory)
                let user = try #require(try await other.users.find("alice"))
                let cookieToken = String(try #require(alice.cookie.split(separator: "=", maxSplits: 1).last))
                try await other.signIns.end(token: cookieToken, user: user, everywhere: true)
                #expect(await !room.inbox.closed)
                try await clock.advance(by: .seconds(30), until: "the room socket closed") { await room.inbox.closed }
                #expect(await room.inbox.messages().contains { $0["type"] as? String == "signed_out" })
                try await group.waitForAll()
            }
            #expect(gateway.connections.count == 0)
        }
    }
}
